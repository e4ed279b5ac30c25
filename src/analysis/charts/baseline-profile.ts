// Vega-Lite spec for the baseline profile: one row per subscale (lowest mean at the top), its mean
// with the 95% CI on the instrument's comparable scale, the declared cut-off as a red tick, and
// n at the right. Like specs.ts, the builder draws already-computed (and already suppressed)
// numbers and computes nothing itself.
import type { ChartSpec } from "./render.js";
import { fontFamilyFor, isChineseLocale } from "./fonts.js";

export interface ProfileRow {
  label: string;
  /** Null when suppressed or not computable: the row shows `note` instead of a point. */
  mean: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  cutoff: number | null;
  n: number;
  /** Shown at the right of the row, e.g. "n=42" or "n<5". */
  note: string;
}

export interface ProfileChartInput {
  title: string;
  locale: string;
  /** In display order (top to bottom). */
  rows: ProfileRow[];
  xDomain: [number, number];
  xTitle?: string;
}

const WORDS = {
  en: {
    mean: "Mean (95% CI)",
    cutoff: "cut-off (at or below: needs attention)",
    noData: "No data",
  },
  zh: { mean: "平均分（95% CI）", cutoff: "临界值（等于或低于：需关注）", noData: "暂无数据" },
};

export function profileWords(locale: string): (typeof WORDS)["en"] {
  return isChineseLocale(locale) ? WORDS.zh : WORDS.en;
}

/** Every fixed word the chart may draw (with the cut-off key's mark), for glyph checks. */
export function allProfileWords(): string[] {
  return [...Object.values(WORDS.en), ...Object.values(WORDS.zh), "▮"];
}

const POINT = "#0072B2";
const CUTOFF = "#C0392B";

export function baselineProfileChart(input: ProfileChartInput): ChartSpec {
  const words = profileWords(input.locale);
  const order = input.rows.map((r) => r.label);
  const rows = input.rows.map((r) => ({
    label: r.label,
    mean: finite(r.mean),
    ciLow: finite(r.ciLow),
    ciHigh: finite(r.ciHigh),
    cutoff: finite(r.cutoff),
    note: r.note,
  }));
  const withMean = rows.filter((r) => r.mean !== null);
  const withCi = withMean.filter((r) => r.ciLow !== null && r.ciHigh !== null);
  const withCutoff = rows.filter((r) => r.cutoff !== null);
  const y = {
    field: "label",
    type: "nominal",
    title: null,
    sort: order,
    scale: { domain: order },
    axis: { labelLimit: 220 },
  };
  const x = {
    field: "mean",
    type: "quantitative",
    title: input.xTitle ?? words.mean,
    scale: { domain: input.xDomain, nice: false, zero: false },
  };
  const layers: object[] = [
    {
      data: { values: withCutoff },
      mark: { type: "tick", color: CUTOFF, thickness: 2, size: 18, clip: true },
      encoding: { y, x: { ...x, field: "cutoff" } },
    },
    {
      data: { values: withCi },
      mark: { type: "errorbar", ticks: { size: 8 }, color: POINT, clip: true },
      encoding: { y, x: { ...x, field: "ciLow" }, x2: { field: "ciHigh" } },
    },
    {
      data: { values: withMean },
      mark: { type: "point", filled: true, size: 70, color: POINT, opacity: 1, clip: true },
      encoding: { y, x },
    },
    {
      data: { values: rows },
      mark: { type: "text", align: "left", dx: 6, fontSize: 10, color: "#555" },
      encoding: { y, x: { value: "width" }, text: { field: "note" } },
    },
  ];
  if (withMean.length === 0)
    layers.push({
      data: { values: [{}] },
      mark: { type: "text", fontSize: 14, color: "#888" },
      encoding: {
        x: { value: { expr: "width / 2" } },
        y: { value: { expr: "height / 2" } },
        text: { value: words.noData },
      },
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: input.title,
      anchor: "start",
      // The cut-off's key, in its colour, where no data can be.
      ...(withCutoff.length > 0
        ? { subtitle: `▮ ${words.cutoff}`, subtitleColor: CUTOFF, subtitleFontSize: 11 }
        : {}),
    },
    config: {
      font: fontFamilyFor(input.locale),
      background: "white",
      title: { fontSize: 15, offset: 10 },
      axis: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: "normal" },
      view: { stroke: null },
      padding: { left: 5, right: 50, top: 5, bottom: 5 },
    },
    width: 380,
    height: Math.max(60, 30 * rows.length),
    layer: layers,
  } as ChartSpec;
}

function finite(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
