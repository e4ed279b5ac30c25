import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { chartFonts, fontFamilyFor, missingGlyphs } from "../../src/analysis/charts/fonts.js";
import { measureText } from "../../src/analysis/charts/measure.js";
import {
  rasterize,
  renderPng,
  renderSvg,
  type ChartSpec,
} from "../../src/analysis/charts/render.js";
import {
  allChartWords,
  prePostChart,
  prePostPanel,
  satisfactionChart,
  type PrePostPoint,
} from "../../src/analysis/charts/specs.js";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.toString("latin1", 12, 16)).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function series(zh: boolean): PrePostPoint[] {
  const arm = (a: "experimental" | "control") =>
    a === "experimental"
      ? zh
        ? "小组活动组"
        : "Group sessions"
      : zh
        ? "常规照护组"
        : "Usual care";
  const tp = (t: "pre" | "post") =>
    t === "pre" ? (zh ? "小组开始前" : "Before") : zh ? "小组结束后" : "After";
  const point = (
    a: "experimental" | "control",
    t: "pre" | "post",
    mean: number | null,
    ci: [number, number] | null,
    n: number,
  ): PrePostPoint => ({
    arm: a,
    armLabel: arm(a),
    timepoint: t,
    timepointLabel: tp(t),
    mean,
    ciLow: ci?.[0] ?? null,
    ciHigh: ci?.[1] ?? null,
    n,
  });
  return [
    point("experimental", "pre", 52, [45, 59], 12),
    point("experimental", "post", 68, [61, 75], 11),
    point("control", "pre", 54, [47, 61], 13),
    point("control", "post", 56, [50, 62], 10),
  ];
}

/** Text marks' contents in an SVG (vega writes each as a <text> element). */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

describe("renderPng", () => {
  it("renders an English pre/post chart to a PNG of sensible size", async () => {
    const spec = prePostChart({
      title: "Emotional functioning",
      locale: "en",
      series: series(false),
    });
    const png = await renderPng(spec);
    const { width, height } = pngSize(png);
    // 360×240 plot plus axes, title and legend, at the default 2×.
    expect(width).toBeGreaterThan(720);
    expect(width).toBeLessThan(1400);
    expect(height).toBeGreaterThan(480);
    expect(height).toBeLessThan(1200);
  });

  it("renders a Chinese pre/post chart, and honours width and scale", async () => {
    const spec = prePostChart({ title: "情绪功能", locale: "zh", series: series(true) });
    const atTwo = pngSize(await renderPng(spec));
    const atOne = pngSize(await renderPng(spec, { scale: 1 }));
    expect(Math.abs(atTwo.width - 2 * atOne.width)).toBeLessThanOrEqual(1);
    expect(Math.abs(atTwo.height - 2 * atOne.height)).toBeLessThanOrEqual(1);
    const fixed = pngSize(await renderPng(spec, { width: 800 }));
    expect(fixed.width).toBe(800);
    expect(Math.abs(fixed.height / fixed.width - atOne.height / atOne.width)).toBeLessThan(0.01);
    await expect(renderPng(spec, { scale: 0 })).rejects.toThrow(/scale/);
  });

  it("sets the font from the locale for specs that do not choose one", async () => {
    const spec = {
      data: { values: [{ a: "前测", b: 1 }] },
      mark: "bar",
      encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
    } as ChartSpec;
    const { cjkFamily } = chartFonts();
    expect(await renderSvg(spec, { locale: "zh" })).toContain(cjkFamily);
    expect(await renderSvg(spec)).not.toContain(cjkFamily);
  });
});

describe("Chinese glyphs", () => {
  // A single large character, drawn the production way or with DejaVu alone.
  async function rasterise(text: string, withCjk: boolean): Promise<Buffer> {
    const spec = {
      width: 120,
      height: 120,
      config: { font: fontFamilyFor("zh"), view: { stroke: null } },
      data: { values: [{}] },
      mark: { type: "text", fontSize: 80, align: "center", baseline: "middle" },
      encoding: { x: { value: 60 }, y: { value: 60 }, text: { value: text } },
    } as ChartSpec;
    const svg = await renderSvg(spec);
    if (withCjk) return (await rasterize(svg, { scale: 1 })).pixels;
    const fonts = chartFonts();
    const resvg = new Resvg(svg, {
      background: "white",
      font: {
        loadSystemFonts: false,
        fontFiles: fonts.latin.map((f) => f.file),
        defaultFontFamily: fonts.latinFamily,
      },
    });
    return resvg.render().pixels;
  }

  function ink(rgba: Buffer): number {
    let dark = 0;
    for (let i = 0; i < rgba.length; i += 4) if (rgba[i]! < 128) dark++;
    return dark;
  }

  it("draws distinct real glyphs, where DejaVu alone draws identical boxes", async () => {
    const [shi, liang] = [await rasterise("实", true), await rasterise("量", true)];
    const [boxShi, boxLiang] = [await rasterise("实", false), await rasterise("量", false)];
    // Without the Chinese font every character is the same .notdef box: the check below would
    // catch a regression to boxes.
    expect(boxShi.equals(boxLiang)).toBe(true);
    expect(shi.equals(boxShi)).toBe(false);
    expect(shi.equals(liang)).toBe(false);
    // An 80 px character has real strokes: thousands of dark pixels, more than the box outline.
    expect(ink(shi)).toBeGreaterThan(1000);
    expect(ink(liang)).toBeGreaterThan(ink(boxLiang));
  });

  it("covers every Chinese string in the flows and every fixed chart word", () => {
    const zh: string[] = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === "object") {
        for (const [key, v] of Object.entries(value)) {
          if (/^zh\b/.test(key) && typeof v === "string") zh.push(v);
          else collect(v);
        }
      }
    };
    const files = [
      "flows/study.yaml",
      ...readdirSync("flows/instruments")
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => join("flows/instruments", f)),
    ];
    for (const file of files) collect(parse(readFileSync(file, "utf8")));
    expect(zh.length).toBeGreaterThan(20);
    // Emoji appear only in answer-option labels, which charts never draw.
    const text = [...zh, ...allChartWords()].join("").replace(/\p{Extended_Pictographic}/gu, "");
    expect(missingGlyphs(text)).toEqual([]);
    expect(missingGlyphs("实验组 𠀀")).toEqual(["𠀀"]);
  });

  it("lets vega lay out Chinese at a full em per character", async () => {
    const { cjkFamily, latinFamily } = chartFonts();
    expect(measureText("实验组", `'${cjkFamily}'`, 10)).toBeCloseTo(30, 0);
    expect(measureText("iii", `'${latinFamily}'`, 10)).toBeLessThan(
      measureText("WWW", `'${latinFamily}'`, 10),
    );
    await renderSvg(prePostChart({ title: "x", locale: "zh", series: series(true) }));
    // Vega's own estimate would give 0.8 em per character; ours is installed process-wide.
    const metrics = (vega as unknown as { textMetrics: { width(item: object, t: string): number } })
      .textMetrics;
    expect(metrics.width({ font: fontFamilyFor("zh"), fontSize: 10 }, "实验组")).toBeCloseTo(30, 0);
    expect(metrics.width({ font: fontFamilyFor("zh"), fontSize: 10, limit: 12 }, "实验组")).toBe(
      12,
    );
  });
});

describe("prePostChart", () => {
  it("omits points with a null mean or CI instead of failing", async () => {
    const points = series(true);
    points[1] = { ...points[1]!, mean: null, ciLow: null, ciHigh: null, n: 2 };
    points[3] = { ...points[3]!, ciLow: null, ciHigh: null, n: 9 };
    const svg = await renderSvg(prePostChart({ title: "情绪功能", locale: "zh", series: points }));
    const texts = svgTexts(svg);
    expect(texts).toEqual(
      expect.arrayContaining(["n=12", "n=13", "n=9", "小组开始前", "小组结束后"]),
    );
    expect(texts).not.toContain("n=2");
    expect(svg).not.toMatch(/NaN/);
    expect(pngSize(await renderPng(prePostChart({ title: "t", locale: "zh", series: points }))));
  });

  it("says there is no data when nothing has a mean", async () => {
    const none = series(false).map((p) => ({ ...p, mean: null, ciLow: null, ciHigh: null }));
    const texts = svgTexts(
      await renderSvg(prePostChart({ title: "t", locale: "en", series: none })),
    );
    expect(texts).toContain("No data");
    const empty = svgTexts(await renderSvg(prePostChart({ title: "t", locale: "zh", series: [] })));
    expect(empty).toContain("暂无数据");
    expect(empty).not.toContain("组别");
  });

  it("shows timepoint labels verbatim, quotes and line separators included", async () => {
    const odd = series(false).map((p) =>
      p.timepoint === "pre" ? { ...p, timepointLabel: 'T0 "base" \\ \u2028x' } : p,
    );
    const texts = svgTexts(
      await renderSvg(prePostChart({ title: "t", locale: "en", series: odd })),
    );
    expect(texts).toContain('T0 "base" \\ \u2028x');
  });

  it("draws every subscale of an instrument in one panel image with one legend", async () => {
    const panels = ["身体功能", "情绪功能", "社交功能", "学校功能"].map((title) => ({
      title,
      series: series(true),
    }));
    const spec = prePostPanel({ title: "生活质量", locale: "zh", panels, yDomain: [0, 100] });
    const texts = svgTexts(await renderSvg(spec));
    for (const p of panels) expect(texts).toContain(p.title);
    expect(texts.filter((t) => t === "小组活动组")).toHaveLength(1);
    const single = pngSize(
      await renderPng(prePostChart({ title: "x", locale: "zh", series: series(true) })),
    );
    const panel = pngSize(await renderPng(spec));
    expect(panel.width).toBeGreaterThan(single.width);
    expect(panel.height).toBeGreaterThan(single.height);
    expect(
      pngSize(await renderPng(prePostPanel({ locale: "en", panels: [] }))).width,
    ).toBeGreaterThan(0);
  });
});

describe("satisfactionChart", () => {
  const sessions = [
    { number: 1, mean: 25.1, ciLow: 23, ciHigh: 27.2, n: 10 },
    { number: 2, mean: 26.3, ciLow: 24.5, ciHigh: 28, n: 9 },
    { number: 3, mean: null, n: 1 },
    { number: 4, mean: 27.4, ciLow: null, ciHigh: null, n: 2 },
  ];

  it("shows all six sessions, sample sizes and the threshold line", async () => {
    const spec = satisfactionChart({
      title: "满意度",
      locale: "zh",
      sessions,
      threshold: 24,
      yMin: 8,
      yMax: 32,
    });
    const texts = svgTexts(await renderSvg(spec));
    expect(texts).toEqual(expect.arrayContaining(["1", "2", "3", "4", "5", "6"]));
    expect(texts).toEqual(expect.arrayContaining(["n=10", "n=9", "n=1", "n=2"]));
    expect(texts).toContain("达标线 24");
    expect(pngSize(await renderPng(spec)).width).toBeGreaterThan(700);
  });

  it("leaves out a threshold outside the scale, and needs no threshold at all", async () => {
    const outside = satisfactionChart({
      title: "s",
      locale: "en",
      sessions,
      threshold: 40,
      yMax: 32,
    });
    expect(svgTexts(await renderSvg(outside)).some((t) => t.startsWith("Threshold"))).toBe(false);
    const none = satisfactionChart({ title: "s", locale: "en", sessions: [], yMax: 4 });
    expect(svgTexts(await renderSvg(none))).toContain("No data");
  });
});
