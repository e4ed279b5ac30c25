// Readable views of the qualitative codes report (./qualitative.ts): plain text (terminal and the
// Telegram `/report codes`) and HTML (a file for the research team, and a section of the effect
// report). These are shared views: every count from 1 to smallCell − 1 is shown as "<smallCell"
// (0 stays 0: an absent code is not a small cell). Excerpts — the texts themselves — appear only in
// the full HTML for the research team, never in text or Telegram.
import type { Db } from "../db/client.js";
import { t, type LoadedFlows } from "../study/model.js";
import {
  codeLabel,
  codeReport,
  type Breakdown,
  type CodeReport,
  type LevelCount,
} from "./qualitative.js";
import { displayWidth } from "./display-width.js";

export interface CodeViewOptions {
  locale: string;
  smallCell: number;
}

const LABELS = {
  en: {
    title: "Qualitative codes",
    summary: (total: string, children: string, notes: string, interviews: string) =>
      `${total} notes and interviews on ${children} children (${notes} notes, ${interviews} interviews)`,
    coded: (coded: string, uncoded: string) => `${coded} coded, ${uncoded} without a code`,
    sentence: (a: string, b: string) => `${a}; ${b}.`,
    overall: "Notes and interviews per code",
    suppressed: (n: number) =>
      `Counts from 1 to ${n - 1} are shown as "<${n}" (small-cell suppression).`,
    code: "Code",
    notes: "Notes",
    interviews: "Interviews",
    all: "All",
    children: "Children",
    byArm: "By arm (notes and interviews with the code)",
    byGroup: "By group",
    bySession: "By session",
    sessionNone: "none",
    sessionNote:
      "Session: the one logged or held in the child's group the day the note was saved; none = not tied to a session.",
    cooccurrence: "Co-occurrence (notes and interviews carrying both codes)",
    noArm: "No arm",
    noGroup: "No group",
    total: "All notes",
    notInCodebook: "not in the codebook",
    none: "No notes or interviews yet.",
    excerpts: "Excerpts",
    excerptsNote:
      "The texts, with facilitators' nicknames replaced by participant codes. For the research team only: do not share this file outside it.",
    session: (n: number, group: string) => `session ${n} (${group})`,
    noSession: "no session",
    noExcerpts: "No notes or interviews carry this code.",
    generated: "generated",
  },
  zh: {
    title: "质性编码",
    summary: (total: string, children: string, notes: string, interviews: string) =>
      `共 ${total} 条记录和访谈，涉及 ${children} 名儿童（记录 ${notes} 条，访谈 ${interviews} 条）`,
    coded: (coded: string, uncoded: string) => `已编码 ${coded} 条，未编码 ${uncoded} 条`,
    sentence: (a: string, b: string) => `${a}；${b}。`,
    overall: "各编码的记录和访谈数",
    suppressed: (n: number) => `1 至 ${n - 1} 的计数显示为"<${n}"（小样本隐藏）。`,
    code: "编码",
    notes: "记录",
    interviews: "访谈",
    all: "合计",
    children: "儿童数",
    byArm: "按组别（带有该编码的记录和访谈）",
    byGroup: "按小组",
    bySession: "按活动节次",
    sessionNone: "无",
    sessionNote: "节次：保存记录当天该儿童所在小组正在记录或已举行的活动；无 = 与活动无关。",
    cooccurrence: "共现（同时带有两个编码的记录和访谈）",
    noArm: "无组别",
    noGroup: "未分组",
    total: "全部记录",
    notInCodebook: "不在编码表中",
    none: "尚无记录或访谈。",
    excerpts: "摘录",
    excerptsNote: "原文（带教者使用的昵称已替换为参与者编号）。仅供研究团队使用，请勿外传。",
    session: (n: number, group: string) => `第 ${n} 节（${group}）`,
    noSession: "无活动",
    noExcerpts: "没有带该编码的记录或访谈。",
    generated: "生成于",
  },
};
type Labels = typeof LABELS.en;
const labelsFor = (locale: string): Labels => (locale.startsWith("zh") ? LABELS.zh : LABELS.en);

/** A count as a shared view shows it. */
export function suppressCount(n: number, small: number): string {
  return n > 0 && n < small ? `<${small}` : String(n);
}

const width = displayWidth;

/** Cuts a label to a display width (phones show about 40 columns of a <pre>). */
function cut(s: string, max: number): string {
  if (width(s) <= max) return s;
  let out = "";
  for (const ch of s) {
    if (width(`${out}${ch}…`) > max) break;
    out += ch;
  }
  return `${out}…`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => {
        const pad = " ".repeat(Math.max(0, widths[i]! - width(c)));
        return i === 0 ? c + pad : pad + c;
      })
      .join("  ")
      .trimEnd();
  return [fmt(header), fmt(header.map((_, i) => "-".repeat(widths[i]!))), ...rows.map(fmt)];
}

interface Dimension {
  header: string[];
  cells: (b: Breakdown) => number[];
}

interface Row {
  label: string;
  b: Breakdown;
}

/** Table rows: the codes, then all notes. Text marks codes no longer in the codebook with "*". */
function rowsOf(
  report: CodeReport,
  flows: LoadedFlows,
  locale: string,
  L: Labels,
  short: boolean,
): Row[] {
  const mark = short ? " *" : ` (${L.notInCodebook})`;
  return [
    ...report.codes.map((c) => ({
      label: `${codeLabel(flows, c.id, locale)}${c.inCodebook ? "" : mark}`,
      b: c as Breakdown,
    })),
    { label: L.total, b: report.totals },
  ];
}

/** Column headers and cells of each breakdown, shared by text and HTML. */
function dimensions(
  report: CodeReport,
  flows: LoadedFlows,
  locale: string,
  L: Labels,
): Record<"overall" | "arm" | "group" | "session", Dimension> {
  const arm = (id: string | null) => {
    if (id === null) return L.noArm;
    const a = flows.study.arms.find((x) => x.id === id);
    return a ? t(a.label, locale, flows.study.defaultLocale) : id;
  };
  const kindLabel = (k: string) => (k === "note" ? L.notes : k === "interview" ? L.interviews : k);
  const t0 = report.totals;
  const segs = (xs: LevelCount[]) => xs.map((x) => x.segments);
  return {
    overall: {
      header: [...t0.byKind.map((k) => kindLabel(k.kind)), L.all, L.children],
      cells: (b: Breakdown) => [...segs(b.byKind), b.segments, b.participants],
    },
    arm: { header: t0.byArm.map((a) => arm(a.arm)), cells: (b: Breakdown) => segs(b.byArm) },
    group: {
      header: t0.byGroup.map((g) => g.group ?? L.noGroup),
      cells: (b: Breakdown) => segs(b.byGroup),
    },
    session: {
      header: t0.bySession.map((s) => (s.session === null ? L.sessionNone : String(s.session))),
      cells: (b: Breakdown) => segs(b.bySession),
    },
  };
}

/** "8 notes and interviews on 5 children (…); 7 coded, 1 without a code.", counts suppressed. */
function summaryLine(report: CodeReport, L: Labels, small: number): string {
  const s = (n: number) => suppressCount(n, small);
  const tot = report.totals;
  const kind = (k: string) => tot.byKind.find((x) => x.kind === k)?.segments ?? 0;
  // The labels take strings so every number passes through the suppression.
  return L.sentence(
    L.summary(s(tot.segments), s(tot.participants), s(kind("note")), s(kind("interview"))),
    L.coded(s(tot.coded), s(tot.uncoded)),
  );
}

export function codeReportText(
  report: CodeReport,
  flows: LoadedFlows,
  opts: CodeViewOptions,
): string {
  const { locale, smallCell: small } = opts;
  const L = labelsFor(locale);
  const s = (n: number) => suppressCount(n, small);
  const tot = report.totals;
  const out = [L.title, summaryLine(report, L, small)];
  if (tot.segments === 0) return [...out, "", L.none].join("\n");
  if (small > 1) out.push(L.suppressed(small));
  const rows = rowsOf(report, flows, locale, L, true);
  const dims = dimensions(report, flows, locale, L);
  const block = (title: string, d: Dimension) => {
    out.push(
      "",
      title,
      ...table(
        [L.code, ...d.header],
        rows.map((r) => [
          cut(r.label.replace(/ \*$/, ""), 22) + (r.label.endsWith(" *") ? " *" : ""),
          ...d.cells(r.b).map(s),
        ]),
      ),
    );
  };
  block(L.overall, dims.overall);
  if (report.codes.some((c) => !c.inCodebook)) out.push(`* ${L.notInCodebook}`);
  block(L.byArm, dims.arm);
  block(L.byGroup, dims.group);
  block(L.bySession, dims.session);
  out.push(L.sessionNote);
  const ids = report.cooccurrence.codes;
  out.push(
    "",
    L.cooccurrence,
    ...table(
      [L.code, ...ids.map((_, i) => String(i + 1))],
      ids.map((id, i) => [
        `${i + 1} ${cut(codeLabel(flows, id, locale), 22)}`,
        ...report.cooccurrence.segments[i]!.map((n) => s(n)),
      ]),
    ),
  );
  return out.join("\n");
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function htmlTable(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>${rows
    .map(
      (r) =>
        `<tr><th>${esc(r[0]!)}</th>${r
          .slice(1)
          .map((c) => `<td>${esc(c)}</td>`)
          .join("")}</tr>`,
    )
    .join("\n")}</tbody></table>`;
}

/**
 * The counts as an HTML fragment (h2 and tables, suppressed, no excerpts): the section of the
 * effect report and the top of the codes report.
 */
export function codeSummarySection(
  report: CodeReport,
  flows: LoadedFlows,
  opts: CodeViewOptions,
): string {
  const { locale, smallCell: small } = opts;
  const L = labelsFor(locale);
  const s = (n: number) => suppressCount(n, small);
  const tot = report.totals;
  const head = `<h2>${esc(L.title)}</h2>
<p>${esc(summaryLine(report, L, small))}${small > 1 ? ` ${esc(L.suppressed(small))}` : ""}</p>`;
  if (tot.segments === 0) return `${head}\n<p>${esc(L.none)}</p>`;
  const rows = rowsOf(report, flows, locale, L, false);
  const dims = dimensions(report, flows, locale, L);
  const block = (title: string | null, d: Dimension) =>
    `${title ? `<h3>${esc(title)}</h3>\n` : ""}${htmlTable(
      [L.code, ...d.header],
      rows.map((r) => [r.label, ...d.cells(r.b).map(s)]),
    )}`;
  const ids = report.cooccurrence.codes;
  const names = ids.map((id) => codeLabel(flows, id, locale));
  return [
    head,
    block(null, dims.overall),
    block(L.byArm, dims.arm),
    block(L.byGroup, dims.group),
    block(L.bySession, dims.session),
    `<p>${esc(L.sessionNote)}</p>`,
    `<h3>${esc(L.cooccurrence)}</h3>`,
    htmlTable(
      [L.code, ...names],
      ids.map((_, i) => [names[i]!, ...report.cooccurrence.segments[i]!.map((n) => s(n))]),
    ),
  ].join("\n");
}

/** The codes report as a self-contained HTML file; excerpts unless `excerpts: false`. */
export function codeReportHtml(
  report: CodeReport,
  flows: LoadedFlows,
  opts: CodeViewOptions & { excerpts?: boolean },
): string {
  const { locale } = opts;
  const L = labelsFor(locale);
  const excerpts =
    opts.excerpts === false || report.totals.segments === 0
      ? ""
      : `<h2>${esc(L.excerpts)}</h2>\n<p class="warn">${esc(L.excerptsNote)}</p>\n${report.codes
          .map((c) => {
            const items = c.excerpts
              .map((e) => {
                const where = e.session
                  ? L.session(e.session.number, e.session.group)
                  : L.noSession;
                const kind =
                  e.kind === "note" ? L.notes : e.kind === "interview" ? L.interviews : e.kind;
                return `<li><p class="meta"><b>${esc(e.participant)}</b> · ${esc(kind)} · ${esc(e.createdAt.slice(0, 10))} · ${esc(where)}</p><blockquote>${esc(e.text)}</blockquote></li>`;
              })
              .join("\n");
            return `<h3>${esc(codeLabel(flows, c.id, locale))} <small>(${esc(c.id)}, ${c.excerpts.length})</small></h3>\n${items ? `<ul class="excerpts">${items}</ul>` : `<p>${esc(L.noExcerpts)}</p>`}`;
          })
          .join("\n")}`;
  const title = `${L.title} — ${t(flows.study.title, locale, flows.study.defaultLocale)}`;
  return `<!doctype html>
<html lang="${esc(locale)}"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:.9em;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left}td{text-align:right}
ul.excerpts{list-style:none;padding:0}.meta{margin:.8em 0 .2em;color:#555;font-size:.9em}
blockquote{margin:0 0 0 1em;padding:.3em .8em;border-left:3px solid #ccc;white-space:pre-wrap}.warn{color:#8a4b00}</style></head>
<body><h1>${esc(title)}</h1>
<p>${esc(L.generated)} ${esc(report.generatedAt)}</p>
${codeSummarySection(report, flows, opts)}
${excerpts}
</body></html>
`;
}

/**
 * The code-summary section for the effect report's HTML, or undefined when the study has no
 * codes and no notes (nothing to say).
 */
export async function effectReportCodeSection(
  db: Db,
  flows: LoadedFlows,
  opts: CodeViewOptions & { now?: Date },
): Promise<string | undefined> {
  const { report } = await codeReport(db, flows, opts.now ?? new Date());
  if (flows.study.codes.length === 0 && report.totals.segments === 0) return undefined;
  return codeSummarySection(report, flows, opts);
}
