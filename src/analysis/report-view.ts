// Readable views of the effect report: plain text (terminal, Telegram) and a self-contained HTML
// file with the charts embedded. Both show the JSON's numbers; shared views suppress descriptive
// cells (and tests built on them) with fewer cases than the study's small-cell size.
import type { LoadedFlows } from "../study/model.js";
import { t } from "../study/model.js";
import type { ArmBlock, D, Report, ReportContext, ScoreBlock } from "./report.js";
import { describe, tQuantile } from "./stats/index.js";
import { prePostPanel, satisfactionChart, type PrePostPoint } from "./charts/specs.js";
import { renderPng } from "./charts/render.js";
import type { SessionSatisfactionRow } from "./satisfaction.js";
import { MIXED_MODEL_METHODS, mixedModelHtml, mixedModelLines } from "./report-mixed.js";

export interface ViewOptions {
  locale: string;
  smallCell: number;
  /** HTML sections appended to the HTML report before the details (e.g. the qualitative codes). */
  appendixHtml?: string;
}

const f = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? "–" : x.toFixed(digits);
/** Exact p values (never just "p < .05"); very small ones in scientific notation. */
export const fp = (p: number | null | undefined) =>
  p === null || p === undefined ? "–" : p < 0.001 ? p.toExponential(2) : p.toFixed(3);

function cell(dd: D, small: number): string {
  if (dd.n === 0) return "n=0";
  if (dd.n < small) return `n<${small} (suppressed)`;
  return `${f(dd.mean)} ± ${f(dd.sd)} (n=${dd.n})`;
}

function ciMean(dd: D): [number | null, number | null] {
  if (dd.mean === null || dd.sd === null || dd.n < 2) return [null, null];
  const q = tQuantile(0.975, dd.n - 1);
  if (q === null) return [null, null];
  const h = (q * dd.sd) / Math.sqrt(dd.n);
  return [dd.mean - h, dd.mean + h];
}

/** Approximate 95% CI of a standardised difference (normal approximation, domain.md §4.4). */
function ciD(dv: number | null, n1: number, n2: number): string {
  if (dv === null || n1 < 2 || n2 < 2) return "";
  const se = Math.sqrt((n1 + n2) / (n1 * n2) + (dv * dv) / (2 * (n1 + n2)));
  return ` [${f(dv - 1.96 * se)}, ${f(dv + 1.96 * se)}]`;
}
function ciDz(dz: number | null, n: number): string {
  if (dz === null || n < 2) return "";
  const se = Math.sqrt(1 / n + (dz * dz) / (2 * n));
  return ` [${f(dz - 1.96 * se)}, ${f(dz + 1.96 * se)}]`;
}

function scoreLabel(ctx: ReportContext, id: string, locale: string): string {
  if (id === "total") return locale.startsWith("zh") ? "总分" : "Total";
  const s = ctx.instrument.subscales.find((x) => x.id === id);
  return s ? t(s.label, locale) : id;
}

function armLines(name: string, a: ArmBlock, small: number): string[] {
  const ok = a.change.n >= small;
  return [
    `  ${name}: pre ${cell(a.pre, small)}; post ${cell(a.post, small)}; change ${cell(a.change, small)}`,
    ok
      ? `    paired t(${f(a.pairedT.df, 0)}) = ${f(a.pairedT.t)}, p = ${fp(a.pairedT.p)}, mean change 95% CI [${f(a.pairedT.ci95?.[0])}, ${f(a.pairedT.ci95?.[1])}], d_z = ${f(a.pairedT.dz)}${ciDz(a.pairedT.dz, a.change.n)}, d_av = ${f(a.pairedT.dav)}; Wilcoxon V = ${f(a.wilcoxon.wPlus, 1)} (n=${a.wilcoxon.n}), p = ${fp(a.wilcoxon.p)}`
      : `    within-arm tests suppressed (fewer than ${small} with both scores)`,
  ];
}

export function reportText(
  report: Report,
  ctx: ReportContext,
  flows: LoadedFlows,
  opts: ViewOptions,
): string {
  const { locale, smallCell: small } = opts;
  const lines: string[] = [];
  lines.push(
    `Effect report: ${t(ctx.instrument.title, locale)} (${report.instrument}, hash ${ctx.instrument.hash.slice(0, 12)})`,
  );
  lines.push(
    `Generated ${report.generatedAt}. ${ctx.participants} participants in the database. Cells with n < ${small} are suppressed.`,
  );
  for (const s of report.scores) {
    lines.push(
      "",
      `■ ${scoreLabel(ctx, s.id, locale)}${s.alpha !== null ? `  (α = ${f(s.alpha)}, n=${ctx.alphaN[s.id] ?? 0})` : ""}`,
    );
    lines.push(
      ...armLines("Experimental", s.arms.experimental, small),
      ...armLines("Control", s.arms.control, small),
    );
    lines.push(...betweenLines(s, small));
    if (s.mixedModel) lines.push(...mixedModelLines(s.mixedModel, flows, opts));
  }
  lines.push("", "Methods", methodsParagraph(ctx, flows, small));
  if (report.scores.some((s) => s.mixedModel)) lines.push(MIXED_MODEL_METHODS);
  return lines.join("\n");
}

function betweenLines(s: ScoreBlock, small: number): string[] {
  const ne = s.arms.experimental.change.n;
  const nc = s.arms.control.change.n;
  const out: string[] = [];
  if (ne < small || nc < small)
    out.push(`  Between arms: suppressed (fewer than ${small} per arm with both scores)`);
  else {
    const b = s.between;
    out.push(
      `  Between arms (change, experimental − control): diff = ${f(b.welchT.diff)} [${f(b.welchT.ci95?.[0])}, ${f(b.welchT.ci95?.[1])}], Welch t(${f(b.welchT.df)}) = ${f(b.welchT.t)}, p = ${fp(b.welchT.p)}${s.id === "total" ? "" : `, Holm p = ${fp(b.welchT.pHolm)}`}`,
      `    ANCOVA (post adjusted for pre): effect = ${f(b.ancova.effect)} [${f(b.ancova.ci95?.[0])}, ${f(b.ancova.ci95?.[1])}], SE ${f(b.ancova.se)}, t(${f(b.ancova.df, 0)}) = ${f(b.ancova.t)}, p = ${fp(b.ancova.p)}`,
      `    Hedges' g = ${f(b.hedgesG)}${ciD(b.hedgesG, ne, nc)}; Morris d_ppc2 = ${f(b.dppc2)}; Mann–Whitney U = ${f(b.mannWhitney.u, 1)}, p = ${fp(b.mannWhitney.p)}`,
      `    Reliable change (RCI): experimental ${rciText(s.rci.experimental)}; control ${rciText(s.rci.control)}`,
    );
  }
  const g = s.baselineByGender;
  if (g.male.n < small || g.female.n < small)
    out.push(`  Baseline by gender: suppressed (a gender has fewer than ${small})`);
  else
    out.push(
      `  Baseline by gender: boys ${cell(g.male, small)}, girls ${cell(g.female, small)}; Welch t(${f(g.welchT.df)}) = ${f(g.welchT.t)}, p = ${fp(g.welchT.p)}`,
    );
  if (s.attendanceDose) {
    const a = s.attendanceDose;
    out.push(
      a.n < small
        ? `  Attendance–change: suppressed (n < ${small})`
        : `  Attendance–change (experimental): r = ${f(a.r)}, p = ${fp(a.p)}, n = ${a.n}`,
    );
  }
  return out;
}

function rciText(r: {
  improved: number | null;
  unchanged: number | null;
  deteriorated: number | null;
}): string {
  return r.improved === null
    ? "not computable"
    : `${r.improved} improved, ${r.unchanged} unchanged, ${r.deteriorated} deteriorated`;
}

export function methodsParagraph(ctx: ReportContext, flows: LoadedFlows, small: number): string {
  const ins = ctx.instrument;
  const scoring =
    ins.transform === "0-100"
      ? "Items were reverse-keyed where specified and linearly transformed to 0–100"
      : "Items were reverse-keyed where specified (min + max − value)";
  return [
    `${scoring}; a (sub)scale score is the mean of the answered items and is not computed when fewer than ${Math.round(ins.minAnsweredFraction * 100)}% of its items were answered; the total is the mean of all answered scored items under the same rule.`,
    `Timepoints: ${ctx.preTimepoint} and ${ctx.postTimepoint}. Descriptives use every arm member with that score; change scores (post − pre), paired t-tests, Wilcoxon signed-rank tests and all between-arm statistics use members with both scores.`,
    `Between arms, change scores were compared with Welch's t-test (Welch–Satterthwaite df) and the Mann–Whitney U test; the primary adjusted analysis is an ANCOVA of post on arm (experimental = 1) and pre (OLS, df = n − 3).`,
    `Rank tests follow R's wilcox.test defaults: zero differences dropped; exact p-values without ties or zeros and n < 50, otherwise a normal approximation with tie and continuity corrections.`,
    `Effect sizes: d_z and d_av within arms; Hedges' g (J = 1 − 3/(4(n1+n2) − 9)) on change scores and Morris' d_ppc2 between arms; 95% CIs for standardised differences use the normal approximation.`,
    `Holm's correction is applied to the Welch p-values across the ${ins.subscales.length} subscales (the total is the primary outcome and is not adjusted).`,
    `Reliability is Cronbach's α on complete cases at ${ctx.preTimepoint}; reliable change uses S_diff = SD(pre)·√(2(1 − α)) with ±1.96.`,
    `Standard deviations are sample SDs (n − 1); p-values are two-sided. Cells with fewer than ${small} cases are suppressed in this shared report.`,
    flows.study.arms.length > 1
      ? "If allocation was not randomised, interpret ANCOVA and change-score analyses as quasi-experimental."
      : "",
  ]
    .filter(Boolean)
    .join(" ");
}

export interface RenderedChart {
  name: string;
  title: string;
  png: Buffer;
}

export async function reportCharts(
  report: Report,
  ctx: ReportContext,
  flows: LoadedFlows,
  satisfaction: SessionSatisfactionRow[],
  opts: ViewOptions,
): Promise<RenderedChart[]> {
  const { locale, smallCell: small } = opts;
  const armLabel = (arm: "experimental" | "control") => {
    const a = flows.study.arms.find((x) => x.id === arm);
    return a ? t(a.label, locale) : arm;
  };
  const tpLabel = (id: string) => {
    const tp = flows.study.timepoints.find((x) => x.id === id);
    return tp ? t(tp.label, locale) : id;
  };
  const point = (arm: "experimental" | "control", tp: "pre" | "post", dd: D): PrePostPoint => {
    const hidden = dd.n < small;
    const [lo, hi] = hidden ? [null, null] : ciMean(dd);
    return {
      arm,
      armLabel: armLabel(arm),
      timepoint: tp,
      timepointLabel: tpLabel(tp === "pre" ? ctx.preTimepoint : ctx.postTimepoint),
      mean: hidden ? null : dd.mean,
      ciLow: lo,
      ciHigh: hi,
      n: dd.n,
    };
  };
  const panels = report.scores.map((s) => ({
    title: scoreLabel(ctx, s.id, locale),
    series: (["experimental", "control"] as const).flatMap((arm) => [
      point(arm, "pre", s.arms[arm].pre),
      point(arm, "post", s.arms[arm].post),
    ]),
  }));
  const charts: RenderedChart[] = [];
  const title = t(ctx.instrument.title, locale);
  const yDomain: [number, number] | undefined =
    ctx.instrument.transform === "0-100"
      ? [0, 100]
      : (() => {
          const it = ctx.instrument.items.find((i) => i.subscale !== null);
          return it && it.min !== null && it.max !== null
            ? ([it.min, it.max] as [number, number])
            : undefined;
        })();
  charts.push({
    name: `${report.instrument}-pre-post.png`,
    title,
    png: await renderPng(prePostPanel({ title, locale, panels, ...(yDomain ? { yDomain } : {}) }), {
      locale,
    }),
  });
  if (satisfaction.length > 0) {
    const sessions = flows.study.sessions.map((s) => {
      const totals = satisfaction
        .filter((r) => r.session === s.number && r.total !== null)
        .map((r) => r.total!);
      const dd = describe(totals);
      const hidden = dd.n < small;
      const [lo, hi] = hidden ? [null, null] : ciMean(dd);
      return { number: s.number, mean: hidden ? null : dd.mean, ciLow: lo, ciHigh: hi, n: dd.n };
    });
    const satTitle = locale.startsWith("zh")
      ? "各次活动满意度（0–40）"
      : "Session satisfaction (0–40)";
    charts.push({
      name: "session-satisfaction.png",
      title: satTitle,
      png: await renderPng(
        satisfactionChart({
          title: satTitle,
          locale,
          sessions,
          threshold: flows.study.thresholds.satisfactionTotalBelow,
          yMax: 40,
          yMin: 0,
          sessionCount: flows.study.sessions.length,
        }),
        { locale },
      ),
    });
  }
  return charts;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function reportHtml(
  report: Report,
  ctx: ReportContext,
  flows: LoadedFlows,
  charts: RenderedChart[],
  opts: ViewOptions,
): string {
  const { locale, smallCell: small } = opts;
  const title = t(ctx.instrument.title, locale);
  const rows = report.scores
    .map((s) => {
      const e = s.arms.experimental;
      const c = s.arms.control;
      const b = s.between;
      const betweenOk = e.change.n >= small && c.change.n >= small;
      return `<tr><th>${esc(scoreLabel(ctx, s.id, locale))}</th>
<td>${esc(cell(e.pre, small))}</td><td>${esc(cell(e.post, small))}</td><td>${esc(cell(c.pre, small))}</td><td>${esc(cell(c.post, small))}</td>
<td>${betweenOk ? `${f(b.welchT.diff)} [${f(b.welchT.ci95?.[0])}, ${f(b.welchT.ci95?.[1])}]<br>p = ${fp(b.welchT.p)}${s.id === "total" ? "" : `, Holm ${fp(b.welchT.pHolm)}`}` : "suppressed"}</td>
<td>${betweenOk ? `${f(b.ancova.effect)} [${f(b.ancova.ci95?.[0])}, ${f(b.ancova.ci95?.[1])}]<br>p = ${fp(b.ancova.p)}` : "suppressed"}</td>
<td>${betweenOk ? `g = ${f(b.hedgesG)}${esc(ciD(b.hedgesG, e.change.n, c.change.n))}<br>d<sub>ppc2</sub> = ${f(b.dppc2)}` : "suppressed"}</td>
<td>${f(s.alpha)}</td></tr>`;
    })
    .join("\n");
  const images = charts
    .map(
      (ch) =>
        `<figure><img alt="${esc(ch.title)}" src="data:image/png;base64,${ch.png.toString("base64")}"><figcaption>${esc(ch.title)}</figcaption></figure>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="${esc(locale)}"><head><meta charset="utf-8"><title>${esc(title)} — Circle report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
figure img{max-width:100%}pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}</style></head>
<body><h1>${esc(title)}</h1>
<p>Instrument <code>${esc(report.instrument)}</code> (hash <code>${esc(ctx.instrument.hash.slice(0, 12))}</code>), generated ${esc(report.generatedAt)}. Cells with n &lt; ${small} are suppressed.</p>
<table><thead><tr><th>Score</th><th>Experimental pre</th><th>Experimental post</th><th>Control pre</th><th>Control post</th><th>Change difference (Welch)</th><th>ANCOVA effect</th><th>Effect sizes</th><th>α</th></tr></thead>
<tbody>${rows}</tbody></table>
${images}
${mixedModelHtml(
  report.scores.map((s) => ({ ...s, label: scoreLabel(ctx, s.id, locale) })),
  flows,
  opts,
)}
${opts.appendixHtml ?? ""}
<h2>Details</h2><pre>${esc(reportText(report, ctx, flows, opts))}</pre>
<h2>Methods</h2><p>${esc(methodsParagraph(ctx, flows, small))}</p>
</body></html>
`;
}
