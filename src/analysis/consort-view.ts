// Readable views of the participant flow: plain text (terminal, Telegram), a CONSORT-style
// diagram (SVG drawn here, PNG through resvg with the chart fonts), an HTML section for the
// effect report and a self-contained HTML page. Shared views show a count of 1..smallCell−1 as
// "<smallCell" (JSON never does).
import type { Db } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import { t } from "../study/model.js";
import { buildBaseline } from "./baseline.js";
import { ARM_KEYS, buildConsort, type ArmFlow, type ArmKey, type ConsortFlow } from "./consort.js";
import {
  baselineCharts,
  baselineHtmlSection,
  countCell,
  esc,
  PAGE_STYLE,
} from "./baseline-view.js";
import type { ViewOptions } from "./report-view.js";
import { fontFamilyFor, isChineseLocale } from "./charts/fonts.js";
import { measureText } from "./charts/measure.js";
import { svgToPng } from "./charts/render.js";

export interface FlowViewOptions extends ViewOptions {
  /** Only this instrument in the "analysed" boxes (the effect report's own outcome). */
  instrument?: string;
}

const WORDS = {
  en: {
    title: "Participant flow",
    registered: "Registered",
    invitedTelegram: "invited by Telegram",
    paper: "paper, no invite",
    notEnrolled: "Not enrolled",
    inviteUnused: "invite not used yet",
    enrolled: "Enrolled",
    excluded: "Not included",
    declinedConsent: "declined consent",
    declinedAssent: "declined assent",
    awaitingConsent: "consent not yet given",
    withdrewBefore: "withdrew before consent",
    included: "Included",
    allocated: "Allocated",
    noArm: "Baseline only (no arm)",
    attendedAny: "attended ≥ 1 session",
    attendedAll: (n: number) => `attended all ${n} sessions`,
    sessions: "Group sessions",
    noSessions: "no group sessions",
    noSessionsLogged: "no session logged yet",
    completedAll: "completed",
    completedAny: "at least one questionnaire",
    notAssigned: "not asked",
    withdrew: "Withdrew",
    kept: "answers kept (study policy)",
    deleted: "answers deleted (study policy)",
    analysed: "Analysed (total, pre and post)",
    baseline: "Baseline analysis (total)",
  },
  zh: {
    title: "参与者流程",
    registered: "登记",
    invitedTelegram: "通过 Telegram 邀请",
    paper: "纸质问卷，无邀请",
    notEnrolled: "未加入",
    inviteUnused: "尚未使用邀请",
    enrolled: "已加入",
    excluded: "未纳入",
    declinedConsent: "拒绝知情同意",
    declinedAssent: "儿童不同意",
    awaitingConsent: "尚未同意",
    withdrewBefore: "同意前退出",
    included: "纳入",
    allocated: "分组",
    noArm: "仅基线调查（未分组）",
    attendedAny: "至少参加 1 次活动",
    attendedAll: (n: number) => `参加全部 ${n} 次活动`,
    sessions: "小组活动",
    noSessions: "无小组活动",
    noSessionsLogged: "尚无活动记录",
    completedAll: "已完成",
    completedAny: "至少完成一份问卷",
    notAssigned: "未安排",
    withdrew: "退出",
    kept: "已有回答保留（研究规定）",
    deleted: "已有回答删除（研究规定）",
    analysed: "纳入分析（总分，前后测）",
    baseline: "纳入基线分析（总分）",
  },
};
type Words = (typeof WORDS)["en"];
const wordsFor = (locale: string): Words => (isChineseLocale(locale) ? WORDS.zh : WORDS.en);

/** Every fixed word the diagram may draw, for glyph-coverage checks. */
export function allFlowWords(): string[] {
  return [WORDS.en, WORDS.zh].flatMap((w) =>
    Object.values(w).map((v) => (typeof v === "function" ? v(6) : v)),
  );
}

interface Box {
  /** First line is drawn bold. */
  lines: string[];
}

function armTitle(flows: LoadedFlows, arm: ArmKey, w: Words, locale: string): string {
  if (arm === "none") return w.noArm;
  const a = flows.study.arms.find((x) => x.id === arm);
  return a ? t(a.label, locale) : arm;
}

function tpLabel(flows: LoadedFlows, id: string, locale: string): string {
  const tp = flows.study.timepoints.find((x) => x.id === id);
  return tp ? t(tp.label, locale) : id;
}

/** The boxes of the diagram, in rows; the same words the text view prints. */
function layout(flow: ConsortFlow, flows: LoadedFlows, opts: FlowViewOptions) {
  const w = wordsFor(opts.locale);
  const c = (n: number | null) => (n === null ? "–" : countCell(n, opts.smallCell));
  const nEq = (n: number) => (n > 0 && n < opts.smallCell ? `n < ${opts.smallCell}` : `n = ${n}`);
  const top: { main: Box; side: Box | null }[] = [
    {
      main: {
        lines: [
          `${w.registered} (${nEq(flow.registered.total)})`,
          `${w.invitedTelegram}: ${c(flow.invited.participants)}`,
          `${w.paper}: ${c(flow.notInvited)}`,
        ],
      },
      side: { lines: [`${w.notEnrolled} (${nEq(flow.awaitingEnrolment)})`, `${w.inviteUnused}`] },
    },
    {
      main: { lines: [`${w.enrolled} (${nEq(flow.enrolled)})`] },
      side: {
        lines: [
          `${w.excluded} (${nEq(flow.enrolled - flow.included)})`,
          `${w.declinedConsent}: ${c(flow.declined.consent)}`,
          `${w.declinedAssent}: ${c(flow.declined.assent)}`,
          `${w.awaitingConsent}: ${c(flow.awaitingConsent)}`,
          `${w.withdrewBefore}: ${c(flow.withdrawnBeforeConsent)}`,
        ],
      },
    },
    { main: { lines: [`${w.included} (${nEq(flow.included)})`] }, side: null },
  ];
  const arms = ARM_KEYS.filter((a) => a !== "none" || flow.arms.none.registered > 0);
  const armBoxes = (f: (a: ArmFlow, arm: ArmKey) => Box) =>
    arms.map((arm) => f(flow.arms[arm], arm));
  const rows: Box[][] = [
    armBoxes((a, arm) => ({
      lines: [`${w.allocated}: ${armTitle(flows, arm, w, opts.locale)}`, `${nEq(a.allocated)}`],
    })),
    armBoxes((a, arm) => ({
      lines: a.attended
        ? [
            w.sessions,
            `${w.attendedAny}: ${c(a.attended.any)}`,
            `${w.attendedAll(flow.sessions)}: ${c(a.attended.all)}`,
          ]
        : [w.sessions, arm === "experimental" ? w.noSessionsLogged : w.noSessions],
    })),
    ...flow.timepoints.map((tp) =>
      armBoxes((a) => {
        const x = a.timepoints[tp]!;
        return {
          lines:
            x.completedAll === null
              ? [`${tpLabel(flows, tp, opts.locale)}`, w.notAssigned]
              : [
                  `${tpLabel(flows, tp, opts.locale)}`,
                  `${w.completedAll}: ${c(x.completedAll)}`,
                  `${w.completedAny}: ${c(x.completedAny)}`,
                ],
        };
      }),
    ),
    armBoxes((a) => ({
      lines: [
        `${w.withdrew} (${nEq(a.withdrawn)})`,
        flow.withdrawalPolicy === "keep" ? w.kept : w.deleted,
      ],
    })),
    armBoxes((a, arm) => {
      const list = a.analysed.filter((x) => !opts.instrument || x.instrument === opts.instrument);
      return {
        lines: [
          arm === "none" ? w.baseline : w.analysed,
          ...list.map((x) => `${x.instrument}: ${c(arm === "none" ? x.baseline : x.change)}`),
        ],
      };
    }),
  ];
  return { top, arms, rows, w };
}

export function consortText(flow: ConsortFlow, flows: LoadedFlows, opts: FlowViewOptions): string {
  const { top, arms, rows, w } = layout(flow, flows, opts);
  const lines = [
    `${w.title}: ${t(flows.study.title, opts.locale)}`,
    `Generated ${flow.generatedAt}. Counts of 1–${opts.smallCell - 1} are shown as <${opts.smallCell}. Withdrawal policy: ${flow.withdrawalPolicy}.`,
    "",
  ];
  const joined = (b: Box) =>
    b.lines.length > 1 ? `${b.lines[0]} — ${b.lines.slice(1).join("; ")}` : b.lines[0]!;
  for (const r of top) {
    lines.push(joined(r.main));
    if (r.side) lines.push(`  → ${joined(r.side)}`);
  }
  lines.push("");
  const header = arms.map((a) => armTitle(flows, a, w, opts.locale));
  const body = rows.slice(1).map((row) => row.map(joined));
  // One column per arm is too wide for a phone: one block per arm instead.
  arms.forEach((_a, i) => {
    lines.push(`■ ${header[i]}: ${rows[0]![i]!.lines[1]}`);
    for (const r of body) lines.push(`  ${r[i]}`);
  });
  lines.push(
    "",
    "Analysed = children with the instrument's total at both of the effect report's timepoints (its change scores and ANCOVA); baseline analysis = a total at the first timepoint.",
  );
  return lines.join("\n");
}

// --- the diagram ----------------------------------------------------------------------------------

const FONT_SIZE = 13;
const LINE = 18;
const PAD = 8;
const GAP = 26;
const MARGIN = 20;

function wrap(text: string, family: string, maxWidth: number, bold: boolean): string[] {
  if (measureText(text, family, FONT_SIZE, bold ? 700 : 400) <= maxWidth) return [text];
  // Break at spaces, or anywhere in text without spaces (Chinese).
  const tokens = /\s/.test(text) ? text.split(/(?<=\s)/) : [...text];
  const out: string[] = [];
  let cur = "";
  for (const tok of tokens) {
    const next = cur + tok;
    if (cur !== "" && measureText(next.trimEnd(), family, FONT_SIZE, bold ? 700 : 400) > maxWidth) {
      out.push(cur.trimEnd());
      cur = tok.trimStart();
    } else cur = next;
  }
  if (cur.trim() !== "") out.push(cur.trimEnd());
  return out;
}

interface Placed {
  x: number;
  y: number;
  w: number;
  h: number;
  lines: { text: string; bold: boolean }[];
}

function place(
  box: Box,
  x: number,
  w: number,
  family: string,
): Omit<Placed, "y" | "h"> & { need: number } {
  const lines = box.lines.flatMap((l, i) =>
    wrap(l, family, w - 2 * PAD, i === 0).map((text) => ({ text, bold: i === 0 })),
  );
  return { x, w, lines, need: lines.length * LINE + 2 * PAD };
}

/** The CONSORT diagram as an SVG document. */
export function consortSvg(flow: ConsortFlow, flows: LoadedFlows, opts: FlowViewOptions): string {
  const { top, arms, rows, w: words } = layout(flow, flows, opts);
  const family = fontFamilyFor(opts.locale);
  const colW = 290;
  const mainW = 330;
  const sideW = 290;
  // Wide enough for the arm columns and for the top boxes with their side boxes.
  const width = Math.max(
    MARGIN * 2 + arms.length * colW + (arms.length - 1) * GAP,
    MARGIN * 2 + mainW + 2 * GAP + sideW,
  );
  const mainX = Math.min((width - mainW) / 2, width - MARGIN - sideW - 2 * GAP - mainW);
  const sideX = mainX + mainW + 2 * GAP;
  const placed: Placed[] = [];
  const arrows: string[] = [];
  const arrow = (x1: number, y1: number, x2: number, y2: number) =>
    arrows.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#333" stroke-width="1.3" marker-end="url(#arrow)"/>`,
    );
  const line = (x1: number, y1: number, x2: number, y2: number) =>
    arrows.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#333" stroke-width="1.3"/>`,
    );

  let y = MARGIN + 30;
  let prevBottom: number | null = null;
  for (const r of top) {
    const m = place(r.main, mainX, mainW, family);
    placed.push({ ...m, y, h: m.need });
    if (prevBottom !== null) arrow(mainX + mainW / 2, prevBottom, mainX + mainW / 2, y);
    prevBottom = y + m.need;
    y = prevBottom + GAP;
    if (r.side) {
      // The side box hangs off the arrow down to the next main box.
      const s = place(r.side, sideX, sideW, family);
      const sy = prevBottom + GAP / 2;
      placed.push({ ...s, y: sy, h: s.need });
      arrow(mainX + mainW / 2, sy + s.need / 2, sideX, sy + s.need / 2);
      y = sy + s.need + GAP / 2;
    }
  }
  // Between the last top box and the arm rows.
  const split = prevBottom! + GAP;
  const colsWidth = arms.length * colW + (arms.length - 1) * GAP;
  const colX = (i: number) => (width - colsWidth) / 2 + i * (colW + GAP);
  line(mainX + mainW / 2, prevBottom!, mainX + mainW / 2, split);
  const centre = mainX + mainW / 2;
  const first = colX(0) + colW / 2;
  const last = colX(arms.length - 1) + colW / 2;
  line(Math.min(centre, first), split, Math.max(centre, last), split);
  y = split + GAP;
  let prevRowBottom: number[] | null = null;
  for (const row of rows) {
    const cells = row.map((b, i) => place(b, colX(i), colW, family));
    const h = Math.max(...cells.map((c) => c.need));
    cells.forEach((c, i) => {
      placed.push({ ...c, y, h });
      const cx = colX(i) + colW / 2;
      arrow(cx, prevRowBottom ? prevRowBottom[i]! : split, cx, y);
    });
    prevRowBottom = cells.map(() => y + h);
    y += h + GAP;
  }
  const height = y - GAP + MARGIN;

  const boxes = placed
    .map((p) => {
      const text = p.lines
        .map(
          (l, i) =>
            `<text x="${p.x + PAD}" y="${p.y + PAD + (i + 1) * LINE - 5}"${l.bold ? ' font-weight="bold"' : ""}>${esc(l.text)}</text>`,
        )
        .join("");
      return `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" rx="4" fill="white" stroke="#333" stroke-width="1.3"/>${text}`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${esc(family)}" font-size="${FONT_SIZE}" fill="#222">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
<text x="${MARGIN}" y="${MARGIN + 12}" font-size="16" font-weight="bold">${esc(words.title)}</text>
${arrows.join("\n")}
${boxes}
</svg>
`;
}

export async function consortPng(
  flow: ConsortFlow,
  flows: LoadedFlows,
  opts: FlowViewOptions,
): Promise<Buffer> {
  return svgToPng(consortSvg(flow, flows, opts), { scale: 2 });
}

/** An HTML section with the diagram (inline SVG) for the effect report. */
export function consortHtmlSection(
  flow: ConsortFlow,
  flows: LoadedFlows,
  opts: FlowViewOptions,
): string {
  const w = wordsFor(opts.locale);
  const arms = ARM_KEYS.filter((a) => a !== "none" || flow.arms.none.registered > 0);
  const c = (n: number | null) => (n === null ? "–" : countCell(n, opts.smallCell));
  const rows = arms
    .map((arm) => {
      const a = flow.arms[arm];
      return `<tr><th>${esc(armTitle(flows, arm, w, opts.locale))}</th><td>${c(a.registered)}</td><td>${c(a.allocated)}</td><td>${a.attended ? `${c(a.attended.any)} / ${c(a.attended.all)}` : "–"}</td>${flow.timepoints.map((tp) => `<td>${c(a.timepoints[tp]!.completedAll)}</td>`).join("")}<td>${c(a.withdrawn)}</td></tr>`;
    })
    .join("\n");
  return `<section id="participant-flow"><h2>${esc(w.title)}</h2>
${consortSvg(flow, flows, opts).replace(/^<svg /, '<svg style="max-width:100%;height:auto" ')}
<table><thead><tr><th>Arm</th><th>Registered</th><th>Allocated</th><th>Attended ≥ 1 / all ${flow.sessions}</th>${flow.timepoints.map((tp) => `<th>${esc(tpLabel(flows, tp, opts.locale))}: completed</th>`).join("")}<th>Withdrew</th></tr></thead>
<tbody>${rows}</tbody></table>
<p><small>Counted from the database at ${esc(flow.generatedAt)}; withdrawal policy "${esc(flow.withdrawalPolicy)}". Counts of 1–${opts.smallCell - 1} are shown as &lt;${opts.smallCell}.</small></p></section>`;
}

export function consortHtml(flow: ConsortFlow, flows: LoadedFlows, opts: FlowViewOptions): string {
  const title = `${t(flows.study.title, opts.locale)}: ${wordsFor(opts.locale).title}`;
  return `<!doctype html>
<html lang="${esc(opts.locale)}"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${PAGE_STYLE}</style></head>
<body><h1>${esc(title)}</h1>
${consortHtmlSection(flow, flows, opts)}
<h2>Details</h2><pre>${esc(consortText(flow, flows, opts))}</pre>
</body></html>
`;
}

/**
 * The sections the effect report's HTML carries for its instrument: the participant flow (its
 * "analysed" boxes showing this instrument) and the instrument's baseline profile.
 */
export async function effectReportSections(
  db: Db,
  flows: LoadedFlows,
  instrument: string,
  opts: ViewOptions & { now?: Date },
): Promise<string> {
  const view = { locale: opts.locale, smallCell: opts.smallCell };
  const flow = await buildConsort(db, flows, opts.now);
  const { report, context } = await buildBaseline(db, flows, { instrument, now: opts.now });
  const charts = await baselineCharts(report, context, view);
  return [
    consortHtmlSection(flow, flows, { ...view, instrument }),
    baselineHtmlSection(report, context, flows, charts, view),
  ].join("\n");
}
