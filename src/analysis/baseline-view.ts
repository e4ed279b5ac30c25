// Readable views of the baseline needs assessment: plain text (terminal, Telegram), an HTML
// section (for the effect report) and a self-contained HTML page, with one profile chart per
// instrument. They show the JSON's numbers; being shared views, they suppress every cell with
// fewer than `smallCell` children (descriptives, tests built on them, and counts of 1..small−1).
import type { Instrument, LoadedFlows } from "../study/model.js";
import { t } from "../study/model.js";
import type {
  BaselineContext,
  BaselineInstrument,
  BaselineReport,
  BaselineScore,
} from "./baseline.js";
import type { D } from "./report.js";
import { fp, type RenderedChart, type ViewOptions } from "./report-view.js";
import { baselineProfileChart, type ProfileRow } from "./charts/baseline-profile.js";
import { renderPng } from "./charts/render.js";
import { displayWidth } from "./display-width.js";

const f = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? "–" : x.toFixed(digits);
const ci = (c: [number, number] | null, digits = 2) =>
  c === null ? "[–, –]" : `[${f(c[0], digits)}, ${f(c[1], digits)}]`;

/** A count in a shared view: 0 and counts ≥ small as they are, 1..small−1 as "<small". */
export function countCell(n: number, small: number): string {
  return n === 0 || n >= small ? String(n) : `<${small}`;
}

export const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const width = displayWidth;

/** A padded text table (first column left-aligned, the rest as given). */
export function textTable(header: string[], rows: string[][], indent = "  "): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const fmt = (r: string[]) =>
    indent +
    r
      .map((c, i) => c + " ".repeat(Math.max(0, widths[i]! - width(c))))
      .join("  ")
      .trimEnd();
  return [fmt(header), fmt(header.map((_, i) => "-".repeat(widths[i]!))), ...rows.map(fmt)];
}

function scoreLabel(ins: Instrument, id: string, locale: string): string {
  if (id === "total") return locale.startsWith("zh") ? "总分" : "Total";
  const s = ins.subscales.find((x) => x.id === id);
  return s ? t(s.label, locale) : id;
}

function instrumentOf(ctx: BaselineContext, id: string): Instrument {
  return ctx.instruments.find((i) => i.id === id)!;
}

function timepointLabel(flows: LoadedFlows, id: string, locale: string): string {
  const tp = flows.study.timepoints.find((x) => x.id === id);
  return tp ? `${t(tp.label, locale)} (${id})` : id;
}

function scaleText(b: BaselineInstrument): string {
  const range = b.scale.min !== null && b.scale.max !== null ? `${b.scale.min}–${b.scale.max}` : "";
  return b.scale.basis === "score"
    ? `scores ${range}, higher = better`
    : "subscales on different answer ranges: ranked and compared as percent of each subscale's range (0–100)";
}

function descriptiveCells(s: BaselineScore, small: number): string[] {
  if (s.n === 0) return ["0", "–", "–", "–", "–"];
  if (s.n < small) return [`<${small}`, "suppressed", "", "", ""];
  return [
    String(s.n),
    `${f(s.mean)} ± ${f(s.sd)}`,
    ci(s.ci95),
    `${f(s.median)} [${f(s.q1)}, ${f(s.q3)}]`,
    cutoffCell(s, small),
  ];
}

function cutoffCell(s: BaselineScore, small: number): string {
  if (s.cutoff === null || s.atOrBelowCutoff === null) return "–";
  const c = s.atOrBelowCutoff;
  if (c.n > 0 && c.n < small) return `≤ ${s.cutoff}: <${small} of ${s.n}`;
  return `≤ ${s.cutoff}: ${c.n} (${f(c.percent, 0)}%)`;
}

function groupCell(d: D, small: number): string {
  if (d.n === 0) return "n=0";
  if (d.n < small) return `n<${small}`;
  return `${f(d.mean)} ± ${f(d.sd)} (n=${d.n})`;
}

function relativeLine(label: string, s: BaselineScore, small: number): string | null {
  const r = s.relative;
  if (!r) return null;
  if (r.n < small) return `    ${label}: suppressed (n < ${small})`;
  const lower = r.pHolm !== null && r.pHolm < 0.05 && (r.meanDiff ?? 0) < 0 ? "  ← lower" : "";
  return `    ${label}: ${f(r.meanDiff)} ${ci(r.ci95)}, t(${f(r.df, 0)}) = ${f(r.t)}, p = ${fp(r.p)}, Holm p = ${fp(r.pHolm)}${lower}`;
}

function genderLine(label: string, s: BaselineScore, small: number): string {
  const g = s.gender;
  if (g.male.n < small || g.female.n < small)
    return `    ${label}: suppressed (a gender has fewer than ${small})`;
  const w = g.welchT;
  return `    ${label}: boys ${groupCell(g.male, small)}, girls ${groupCell(g.female, small)}; diff = ${f(w.diff)} ${ci(w.ci95)}, Welch t(${f(w.df)}) = ${f(w.t)}, p = ${fp(w.p)}${s.id === "total" ? "" : `, Holm p = ${fp(w.pHolm)}`}; g = ${f(g.hedgesG)}`;
}

function ageLine(label: string, s: BaselineScore, small: number): string {
  const a = s.age;
  if (a.n < small) return `    ${label}: suppressed (n < ${small})`;
  return `    ${label}: r = ${f(a.r)} ${ci(a.ci95)}, p = ${fp(a.p)}${s.id === "total" ? "" : `, Holm p = ${fp(a.pHolm)}`}, n = ${a.n}`;
}

/**
 * Subscales in display order: shown ones from the lowest mean, then suppressed and unranked ones
 * in definition order (so a hidden subscale's place gives nothing away). Ranks are printed only
 * when no ranked subscale is hidden; otherwise a gap in them would.
 */
export function displayOrder(
  b: BaselineInstrument,
  small: number,
): { ordered: BaselineScore[]; showRanks: boolean } {
  const subs = b.scores.filter((s) => s.id !== "total");
  const shown = b.ranking.map((id) => subs.find((s) => s.id === id)!).filter((s) => s.n >= small);
  return {
    ordered: [...shown, ...subs.filter((s) => !shown.includes(s))],
    showRanks: shown.length === b.ranking.length,
  };
}

/** The text block of one instrument. */
export function baselineInstrumentText(
  b: BaselineInstrument,
  ctx: BaselineContext,
  opts: ViewOptions,
): string[] {
  const { locale, smallCell: small } = opts;
  const ins = instrumentOf(ctx, b.instrument);
  const p = b.participants;
  const lines = [
    `■ ${t(ins.title, locale)} (${b.instrument}): ${countCell(p.total, small)} children (experimental ${countCell(p.experimental, small)}, control ${countCell(p.control, small)}, no arm ${countCell(p.none, small)})`,
  ];
  if (p.total === 0) return [...lines, "  no answers at baseline yet"];
  lines.push(`  ${scaleText(b)}; subscales ranked from the lowest mean.`);
  const { ordered, showRanks } = displayOrder(b, small);
  const total = b.scores.find((s) => s.id === "total")!;
  lines.push(
    ...textTable(
      ["rank", "score", "n", "mean ± SD", "95% CI", "median [IQR]", "at/below cut-off"],
      [...ordered, total].map((s) => {
        const rank = showRanks && s.rank !== null ? String(s.rank) : "";
        return [rank, scoreLabel(ins, s.id, locale), ...descriptiveCells(s, small)];
      }),
    ),
  );
  const rel = ordered.map((s) => relativeLine(scoreLabel(ins, s.id, locale), s, small));
  if (rel.some((x) => x !== null))
    lines.push(
      "  Own profile (subscale − mean of the child's other subscales; children with every subscale):",
      ...rel.filter((x): x is string => x !== null),
    );
  lines.push(
    "  Boys − girls:",
    ...[...ordered, total].map((s) => genderLine(scoreLabel(ins, s.id, locale), s, small)),
    "  Age (Pearson r):",
    ...[...ordered, total].map((s) => ageLine(scoreLabel(ins, s.id, locale), s, small)),
  );
  return lines;
}

export function baselineMethods(small: number): string {
  return [
    "Every child with an answered questionnaire at the first timepoint is included, with or without an arm.",
    "Scores follow the effect report's scoring rules. Descriptives: sample SD (n − 1), 95% t-interval of the mean, median and quartiles by R's quantile type 7.",
    "At/below cut-off counts scores at or below the cut-off declared in the instrument file.",
    "Subscales are ranked from the lowest mean on the instrument's score scale.",
    "Own profile: per child with every subscale scored, the subscale minus the mean of the child's other subscales, tested against 0 with a one-sample t-test; Holm's correction across the subscales.",
    "Boys − girls: Welch's t-test (Welch–Satterthwaite df) and Hedges' g with J = 1 − 3/(4(n1+n2) − 9), the effect report's correction.",
    "Age: Pearson r with its t-test p and a Fisher-z 95% CI.",
    "Holm's correction covers the subscales; the total is not adjusted. p-values are two-sided.",
    `Cells and counts with fewer than ${small} children are suppressed in this shared view.`,
  ].join(" ");
}

export function baselineText(
  report: BaselineReport,
  ctx: BaselineContext,
  flows: LoadedFlows,
  opts: ViewOptions,
): string {
  const lines = [
    `Baseline needs assessment: ${timepointLabel(flows, report.timepoint, opts.locale)}`,
    `Generated ${report.generatedAt}. Cells with n < ${opts.smallCell} are suppressed.`,
  ];
  if (report.instruments.length === 0) lines.push("", "No scored instrument is asked at baseline.");
  for (const b of report.instruments) lines.push("", ...baselineInstrumentText(b, ctx, opts));
  lines.push("", "Methods", baselineMethods(opts.smallCell));
  return lines.join("\n");
}

/** The profile chart of each instrument (suppressed rows drawn without a point). */
export async function baselineCharts(
  report: BaselineReport,
  ctx: BaselineContext,
  opts: ViewOptions,
): Promise<RenderedChart[]> {
  const { locale, smallCell: small } = opts;
  const charts: RenderedChart[] = [];
  for (const b of report.instruments) {
    const ins = instrumentOf(ctx, b.instrument);
    const { ordered } = displayOrder(b, small);
    const rows: ProfileRow[] = ordered.map((s) => {
      const hidden = s.n < small;
      return {
        label: scoreLabel(ins, s.id, locale),
        mean: hidden ? null : s.mean,
        ciLow: hidden ? null : (s.ci95?.[0] ?? null),
        ciHigh: hidden ? null : (s.ci95?.[1] ?? null),
        cutoff: s.cutoff,
        n: s.n,
        note: s.n === 0 ? "n=0" : hidden ? `n<${small}` : `n=${s.n}`,
      };
    });
    const title = `${t(ins.title, locale)}: ${locale.startsWith("zh") ? "基线概况" : "baseline profile"}`;
    const domain: [number, number] =
      b.scale.min !== null && b.scale.max !== null ? [b.scale.min, b.scale.max] : [0, 100];
    charts.push({
      name: `${b.instrument}-baseline-profile.png`,
      title,
      png: await renderPng(baselineProfileChart({ title, locale, rows, xDomain: domain }), {
        locale,
      }),
    });
  }
  return charts;
}

function figure(ch: RenderedChart): string {
  return `<figure><img alt="${esc(ch.title)}" src="data:image/png;base64,${ch.png.toString("base64")}"><figcaption>${esc(ch.title)}</figcaption></figure>`;
}

/** An HTML section (h2 + tables + charts) for embedding in another report. */
export function baselineHtmlSection(
  report: BaselineReport,
  ctx: BaselineContext,
  flows: LoadedFlows,
  charts: RenderedChart[],
  opts: ViewOptions,
): string {
  const { locale, smallCell: small } = opts;
  const parts = [
    `<section id="baseline"><h2>Baseline needs assessment: ${esc(timepointLabel(flows, report.timepoint, locale))}</h2>`,
  ];
  for (const b of report.instruments) {
    const ins = instrumentOf(ctx, b.instrument);
    const { ordered: subsOrdered, showRanks } = displayOrder(b, small);
    const ordered = [...subsOrdered, b.scores.find((s) => s.id === "total")!];
    const rows = ordered
      .map((s) => {
        const d = descriptiveCells(s, small);
        const rel = s.relative;
        const relCell = !rel
          ? ""
          : rel.n < small
            ? "suppressed"
            : `${f(rel.meanDiff)} ${ci(rel.ci95)}<br>Holm p = ${fp(rel.pHolm)}`;
        const g = s.gender;
        const gCell =
          g.male.n < small || g.female.n < small
            ? "suppressed"
            : `${f(g.welchT.diff)} ${ci(g.welchT.ci95)}<br>p = ${fp(g.welchT.p)}, g = ${f(g.hedgesG)}`;
        const aCell =
          s.age.n < small
            ? "suppressed"
            : `r = ${f(s.age.r)} ${ci(s.age.ci95)}<br>p = ${fp(s.age.p)}`;
        const rank = showRanks && s.rank !== null ? String(s.rank) : "";
        return `<tr><td>${rank}</td><th>${esc(scoreLabel(ins, s.id, locale))}</th>${d.map((c) => `<td>${esc(c)}</td>`).join("")}<td>${relCell}</td><td>${gCell}</td><td>${aCell}</td></tr>`;
      })
      .join("\n");
    const p = b.participants;
    const chart = charts.find((c) => c.name === `${b.instrument}-baseline-profile.png`);
    parts.push(
      `<h3>${esc(t(ins.title, locale))} <small>(${esc(b.instrument)})</small></h3>`,
      `<p>${esc(countCell(p.total, small))} children (experimental ${esc(countCell(p.experimental, small))}, control ${esc(countCell(p.control, small))}, no arm ${esc(countCell(p.none, small))}); ${esc(scaleText(b))}.</p>`,
      `<table><thead><tr><th>Rank</th><th>Score</th><th>n</th><th>Mean ± SD</th><th>95% CI</th><th>Median [IQR]</th><th>At/below cut-off</th><th>Own profile (vs other subscales)</th><th>Boys − girls</th><th>Age</th></tr></thead>`,
      `<tbody>${rows}</tbody></table>`,
      chart ? figure(chart) : "",
    );
  }
  parts.push(`<p><small>${esc(baselineMethods(small))}</small></p></section>`);
  return parts.join("\n");
}

export function baselineHtml(
  report: BaselineReport,
  ctx: BaselineContext,
  flows: LoadedFlows,
  charts: RenderedChart[],
  opts: ViewOptions,
): string {
  const title = `${t(flows.study.title, opts.locale)}: baseline needs assessment`;
  return `<!doctype html>
<html lang="${esc(opts.locale)}"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${PAGE_STYLE}</style></head>
<body><h1>${esc(title)}</h1>
<p>Generated ${esc(report.generatedAt)}. Cells with n &lt; ${opts.smallCell} are suppressed.</p>
${baselineHtmlSection(report, ctx, flows, charts, opts)}
<h2>Details</h2><pre>${esc(baselineText(report, ctx, flows, opts))}</pre>
</body></html>
`;
}

/** The effect report's page style, so the pages look alike. */
export const PAGE_STYLE =
  "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}" +
  "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}" +
  "figure img{max-width:100%}pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}";

/** A short Telegram summary (HTML parse mode): per instrument, the lowest subscales. */
export function baselineSummary(
  report: BaselineReport,
  ctx: BaselineContext,
  opts: ViewOptions,
): string {
  const { locale, smallCell: small } = opts;
  const lines = [`<b>Baseline needs assessment</b> (${esc(report.timepoint)})`, ""];
  for (const b of report.instruments) {
    const ins = instrumentOf(ctx, b.instrument);
    lines.push(
      `<b>${esc(t(ins.title, locale))}</b>: ${esc(countCell(b.participants.total, small))} children`,
    );
    const { ordered, showRanks } = displayOrder(b, small);
    for (const s of ordered.filter((x) => x.n >= small && x.rank !== null).slice(0, 3)) {
      const id = s.id;
      const cut =
        s.atOrBelowCutoff && s.cutoff !== null
          ? `; ≤ ${s.cutoff}: ${esc(s.atOrBelowCutoff.n > 0 && s.atOrBelowCutoff.n < small ? `<${small}` : `${f(s.atOrBelowCutoff.percent, 0)}%`)}`
          : "";
      lines.push(
        `  ${showRanks ? `${s.rank}.` : "•"} ${esc(scoreLabel(ins, id, locale))}: ${f(s.mean)} ${ci(s.ci95)}${cut}`,
      );
    }
    if (b.participants.total > 0 && b.participants.total < small)
      lines.push(`  (fewer than ${small} children: suppressed)`);
  }
  lines.push(
    "",
    "<i>Full numbers (own profile, boys − girls, age) and charts: the HTML report below, or circle report --baseline --json on the server.</i>",
  );
  return lines.join("\n");
}
