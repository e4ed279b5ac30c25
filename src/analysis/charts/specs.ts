// Vega-Lite specs for the study report: pre/post means with 95% CIs per arm, and satisfaction
// across the group sessions. Builders take already-computed statistics (null where a group
// had too few answers) and never compute anything themselves.
import type { ChartSpec } from "./render.js";
import { fontFamilyFor, isChineseLocale } from "./fonts.js";

export type Arm = "experimental" | "control";
export type Timepoint = "pre" | "post";

export interface PrePostPoint {
  arm: Arm;
  armLabel: string;
  timepoint: Timepoint;
  timepointLabel: string;
  mean: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
}

export interface PrePostChartInput {
  title: string;
  locale: string;
  series: PrePostPoint[];
  yTitle?: string;
  /** Fixed y range, e.g. [0, 100] for transformed scores; otherwise fitted to the data. */
  yDomain?: [number, number];
}

export interface PrePostPanelInput {
  title?: string;
  locale: string;
  panels: { title: string; series: PrePostPoint[] }[];
  yTitle?: string;
  yDomain?: [number, number];
  /** Panels per row (default 3). */
  columns?: number;
}

export interface SessionSatisfaction {
  number: number;
  mean: number | null;
  ciLow?: number | null;
  ciHigh?: number | null;
  n: number;
}

export interface SatisfactionChartInput {
  title: string;
  locale: string;
  sessions: SessionSatisfaction[];
  /** Acceptability threshold drawn as a dashed line (omitted when undefined). */
  threshold?: number;
  yMax: number;
  yMin?: number;
  /** Sessions on the x axis, 1..sessionCount (default 6); sessions without data leave a gap. */
  sessionCount?: number;
  xTitle?: string;
  yTitle?: string;
  thresholdLabel?: string;
}

// Okabe–Ito colours (safe for colour-blind readers); control also gets a dashed line and
// square points so the chart survives greyscale printing.
const ARM_STYLE: Record<Arm, { color: string; dash: number[]; shape: string; offset: number }> = {
  experimental: { color: "#0072B2", dash: [1, 0], shape: "circle", offset: -0.06 },
  control: { color: "#E69F00", dash: [5, 3], shape: "square", offset: 0.06 },
};
const ARMS: Arm[] = ["experimental", "control"];
const THRESHOLD_COLOR = "#C0392B";

const WORDS = {
  en: {
    pre: "Pre",
    post: "Post",
    mean: "Mean (95% CI)",
    group: "Group",
    noData: "No data",
    session: "Session",
    satisfaction: "Mean satisfaction (95% CI)",
    threshold: "Threshold",
  },
  zh: {
    pre: "前测",
    post: "后测",
    mean: "平均分（95% CI）",
    group: "组别",
    noData: "暂无数据",
    session: "小组活动节次",
    satisfaction: "平均满意度（95% CI）",
    threshold: "达标线",
  },
};
export type ChartWords = (typeof WORDS)["en"];

export function chartWords(locale: string): ChartWords {
  return isChineseLocale(locale) ? WORDS.zh : WORDS.en;
}

/** Every fixed word the builders may draw, for glyph-coverage checks. */
export function allChartWords(): string[] {
  return [...Object.values(WORDS.en), ...Object.values(WORDS.zh)];
}

const PANEL_SIZE = { width: 360, height: 240 };
const SMALL_PANEL_SIZE = { width: 220, height: 170 };

export function prePostChart(input: PrePostChartInput): ChartSpec {
  const words = chartWords(input.locale);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: input.title,
    config: baseConfig(input.locale),
    ...prePostLayer(input.series, {
      words,
      yTitle: input.yTitle ?? words.mean,
      yDomain: input.yDomain,
      size: PANEL_SIZE,
    }),
  } as ChartSpec;
}

/** All subscales of an instrument in one image, one small pre/post chart per subscale. */
export function prePostPanel(input: PrePostPanelInput): ChartSpec {
  const words = chartWords(input.locale);
  const allSeries = input.panels.flatMap((p) => p.series);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(input.title ? { title: { text: input.title, anchor: "start" } } : {}),
    config: baseConfig(input.locale),
    columns: Math.max(1, input.columns ?? 3),
    // Every panel lists both arms so the shared legend is the same whatever a panel lacks.
    concat: input.panels.map((panel) => ({
      title: panel.title,
      ...prePostLayer(panel.series, {
        words,
        yTitle: input.yTitle ?? words.mean,
        yDomain: input.yDomain,
        size: SMALL_PANEL_SIZE,
        legendArms: allSeries,
      }),
    })),
    resolve: { scale: { y: input.yDomain ? "shared" : "independent" } },
  } as ChartSpec;
}

export function satisfactionChart(input: SatisfactionChartInput): ChartSpec {
  const words = chartWords(input.locale);
  const count = Math.max(1, input.sessionCount ?? 6, ...input.sessions.map((s) => s.number));
  const yMin = input.yMin ?? 0;
  const rows = input.sessions.map((s) => ({
    session: s.number,
    mean: finite(s.mean),
    ciLow: finite(s.ciLow),
    ciHigh: finite(s.ciHigh),
    n: s.n,
    nLabel: `n=${s.n}`,
  }));
  const withMean = rows.filter((r) => r.mean !== null);
  const withCi = withMean.filter((r) => r.ciLow !== null && r.ciHigh !== null);
  const x = {
    field: "session",
    type: "quantitative",
    title: input.xTitle ?? words.session,
    scale: { domain: [0.5, count + 0.5], nice: false, zero: false },
    axis: { values: range(1, count), format: "d", grid: false },
  };
  const y = {
    field: "mean",
    type: "quantitative",
    title: input.yTitle ?? words.satisfaction,
    scale: { domain: [yMin, input.yMax], nice: false, zero: false },
  };
  const color = ARM_STYLE.experimental.color;
  const layers: object[] = [];
  const threshold = input.threshold;
  if (threshold !== undefined && threshold >= yMin && threshold <= input.yMax) {
    const ruleData = { values: [{ threshold }] };
    layers.push(
      {
        data: ruleData,
        mark: { type: "rule", color: THRESHOLD_COLOR, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: { field: "threshold", type: "quantitative" } },
      },
      {
        // Right of the plot, where no point or label can be.
        data: ruleData,
        mark: { type: "text", color: THRESHOLD_COLOR, align: "left", dx: 4, fontSize: 11 },
        encoding: {
          y: { field: "threshold", type: "quantitative" },
          x: { value: "width" },
          text: { value: `${input.thresholdLabel ?? words.threshold} ${threshold}` },
        },
      },
    );
  }
  // Marks are clipped to the fixed scale range (a t-based CI can run past the scale's maximum).
  layers.push(
    {
      data: { values: withCi },
      mark: { type: "errorbar", ticks: { size: 8 }, color, clip: true },
      encoding: { x, y: { ...y, field: "ciLow" }, y2: { field: "ciHigh" } },
    },
    {
      // Rows without a mean stay in the data so the line breaks at a missing session.
      data: { values: rows },
      mark: {
        type: "line",
        color,
        strokeWidth: 2,
        clip: true,
        invalid: "break-paths-show-domains",
      },
      encoding: { x, y },
    },
    {
      data: { values: withMean },
      mark: { type: "point", filled: true, size: 60, color, opacity: 1, clip: true },
      encoding: { x, y },
    },
    {
      // Respondents per session along the bottom, also for sessions too small to have a mean.
      data: { values: rows },
      mark: { type: "text", baseline: "bottom", dy: -4, fontSize: 10, color: "#555" },
      encoding: { x, y: { value: "height" }, text: { field: "nLabel" } },
    },
  );
  if (withMean.length === 0) layers.push(noDataLayer(words));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: input.title,
    config: baseConfig(input.locale),
    ...PANEL_SIZE,
    layer: layers,
  } as ChartSpec;
}

interface LayerOptions {
  words: ChartWords;
  yTitle: string;
  yDomain: [number, number] | undefined;
  size: { width: number; height: number };
  /** Series whose arms the legend lists (default: the layer's own). */
  legendArms?: PrePostPoint[];
}

function prePostLayer(series: PrePostPoint[], options: LayerOptions): object {
  const { words, size } = options;
  const rows: PrePostRow[] = series.map((p) => ({
    arm: p.arm,
    timepoint: p.timepoint,
    armLabel: p.armLabel,
    x: (p.timepoint === "pre" ? 0 : 1) + ARM_STYLE[p.arm].offset,
    mean: finite(p.mean),
    ciLow: finite(p.ciLow),
    ciHigh: finite(p.ciHigh),
    nLabel: `n=${p.n}`,
  }));
  const withMean = rows.filter((r) => r.mean !== null);
  const withCi = withMean.filter((r) => r.ciLow !== null && r.ciHigh !== null);

  const armsShown = ARMS.filter((a) => (options.legendArms ?? series).some((p) => p.arm === a));
  const labelOf = (arm: Arm) =>
    (options.legendArms ?? series).find((p) => p.arm === arm)?.armLabel ?? arm;
  const domain = armsShown.map(labelOf);
  const legendScale = (range: unknown[]) => ({ domain, range });
  const group = {
    field: "armLabel",
    type: "nominal",
    title: words.group,
    // An empty legend would still print its title.
    ...(domain.length === 0 ? { legend: null } : {}),
  };
  // With a fixed y range, clip what runs past it (a t-based CI can exceed a scale's maximum).
  const clip = options.yDomain !== undefined;
  const color = { ...group, scale: legendScale(armsShown.map((a) => ARM_STYLE[a].color)) };
  const shape = { ...group, scale: legendScale(armsShown.map((a) => ARM_STYLE[a].shape)) };
  // The dash has no legend of its own (a dashed outline around a legend symbol reads badly);
  // it keys on "arm" so that vega-lite does not merge it into, and hide, the colour legend.
  const dash = {
    field: "arm",
    type: "nominal",
    scale: { domain: armsShown, range: armsShown.map((a) => ARM_STYLE[a].dash) },
    legend: null,
  };

  const label = (tp: Timepoint) =>
    series.find((p) => p.timepoint === tp)?.timepointLabel ?? words[tp];
  const x = {
    field: "x",
    type: "quantitative",
    title: null,
    scale: { domain: [-0.5, 1.5], nice: false, zero: false },
    axis: {
      values: [0, 1],
      grid: false,
      labelExpr: `datum.value == 0 ? ${exprString(label("pre"))} : ${exprString(label("post"))}`,
    },
  };
  const y = {
    field: "mean",
    type: "quantitative",
    title: options.yTitle,
    scale: options.yDomain
      ? { domain: options.yDomain, nice: false, zero: false }
      : { zero: false, nice: true, padding: 12 },
  };

  const layers: object[] = [
    {
      data: { values: withCi },
      mark: { type: "errorbar", ticks: { size: 8 }, clip },
      encoding: { x, y: { ...y, field: "ciLow" }, y2: { field: "ciHigh" }, color },
    },
    {
      data: { values: withMean },
      mark: { type: "line", strokeWidth: 2, clip },
      encoding: { x, y, color, strokeDash: dash, detail: { field: "arm" } },
    },
    {
      data: { values: withMean },
      mark: { type: "point", filled: true, size: 60, opacity: 1, clip },
      encoding: { x, y, color, shape },
    },
    // Sample sizes: above the error bar for the higher arm at a timepoint, below it for the
    // lower one, so the two labels never sit on top of each other.
    ...[true, false].flatMap((above) => {
      const mine = withMean.filter((r) => labelAbove(r, withMean) === above);
      const hasCi = (r: PrePostRow) => r.ciLow !== null && r.ciHigh !== null;
      const textLayer = (values: PrePostRow[], yField: string, gap: number) => ({
        data: { values },
        mark: {
          type: "text",
          baseline: above ? "bottom" : "top",
          dy: above ? -gap : gap,
          fontSize: 10,
          color: "#555",
        },
        encoding: { x, y: { ...y, field: yField }, text: { field: "nLabel" } },
      });
      return [
        textLayer(mine.filter(hasCi), above ? "ciHigh" : "ciLow", 4),
        // Without an error bar the label must clear the point marker itself.
        textLayer(
          mine.filter((r) => !hasCi(r)),
          "mean",
          9,
        ),
      ];
    }),
  ];
  if (withMean.length === 0) layers.push(noDataLayer(words));
  return { ...size, layer: layers };
}

interface PrePostRow {
  arm: Arm;
  timepoint: Timepoint;
  armLabel: string;
  x: number;
  mean: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  nLabel: string;
}

/** Whether a row's n label goes above it: yes unless another arm sits higher at its timepoint. */
function labelAbove(row: PrePostRow, rows: PrePostRow[]): boolean {
  const other = rows.find((r) => r.timepoint === row.timepoint && r.arm !== row.arm);
  if (!other || other.mean === null || row.mean === null) return row.arm === "experimental";
  if (row.mean === other.mean) return row.arm === "experimental";
  return row.mean > other.mean;
}

function noDataLayer(words: ChartWords): object {
  return {
    data: { values: [{}] },
    mark: { type: "text", fontSize: 14, color: "#888" },
    encoding: {
      x: { value: { expr: "width / 2" } },
      y: { value: { expr: "height / 2" } },
      text: { value: words.noData },
    },
  };
}

function baseConfig(locale: string): object {
  return {
    font: fontFamilyFor(locale),
    background: "white",
    title: { fontSize: 15, offset: 10 },
    axis: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: "normal" },
    legend: {
      labelFontSize: 12,
      titleFontSize: 12,
      orient: "bottom",
      direction: "horizontal",
      symbolOpacity: 1,
    },
    view: { stroke: null },
    point: { size: 60 },
  };
}

/** A string literal for a vega expression (JSON leaves U+2028/9 raw, which vega rejects). */
function exprString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

function finite(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
