// Researchers (and coordinators) ask for progress, the effect report (summary, charts as photos,
// HTML as a document) and the export (one zip). Every other role is refused.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Composer, InputFile } from "grammy";
import { zipSync } from "fflate";
import type { CircleContext } from "../context.js";
import type { Services } from "../services.js";
import { escapeHtml } from "../html.js";
import { buildProgress, formatProgressText } from "../../analysis/progress.js";
import { readSnapshot } from "../../db/client.js";
import type { Report, ReportContext } from "../../analysis/report.js";
import type { ExportFormat } from "../../analysis/export-formats/index.js";
// The report, its charts (vega, resvg, a CJK font) and the export load on first use: they cost
// about half a second of start-up that parents and facilitators should not wait for.
const loadReport = () => import("../../analysis/report.js");
const loadView = () => import("../../analysis/report-view.js");
import { t } from "../../study/model.js";

const RESEARCH_ROLES = new Set(["researcher", "admin"]);

function summary(
  report: Report,
  ctx: ReportContext,
  locale: string,
  small: number,
  fp: (p: number | null | undefined) => string,
): string {
  const f = (x: number | null | undefined) => (x === null || x === undefined ? "–" : x.toFixed(2));
  const lines = [
    `<b>${escapeHtml(t(ctx.instrument.title, locale))}</b> — ${escapeHtml(report.instrument)}`,
    "",
  ];
  for (const s of report.scores) {
    const label =
      s.id === "total"
        ? "Total"
        : t(ctx.instrument.subscales.find((x) => x.id === s.id)!.label, locale);
    const e = s.arms.experimental;
    const c = s.arms.control;
    if (e.change.n < small || c.change.n < small) {
      lines.push(
        `<b>${escapeHtml(label)}</b>: n &lt; ${small} per arm with both scores (suppressed)`,
      );
      continue;
    }
    lines.push(
      `<b>${escapeHtml(label)}</b>: change E ${f(e.change.mean)} (n=${e.change.n}), C ${f(c.change.mean)} (n=${c.change.n}); ` +
        `ANCOVA ${f(s.between.ancova.effect)} [${f(s.between.ancova.ci95?.[0])}, ${f(s.between.ancova.ci95?.[1])}], p=${fp(s.between.ancova.p)}; ` +
        `g=${f(s.between.hedgesG)}, d_ppc2=${f(s.between.dppc2)}`,
    );
    // With a follow-up or several groups: the mixed model's arm × last-timepoint term.
    const mm = s.mixedModel;
    const last = mm?.fixed?.at(-1);
    if (
      mm &&
      last &&
      Math.min(mm.participantsByArm.experimental, mm.participantsByArm.control) >= small
    )
      lines.push(
        `  mixed model ${escapeHtml(last.term)} ${f(last.estimate)} [${f(last.ciLow)}, ${f(last.ciHigh)}], p=${fp(last.p)}` +
          (mm.icc?.group != null ? `; group ICC ${f(mm.icc.group)}` : ""),
      );
  }
  lines.push(
    "",
    "<i>Full numbers, methods and charts: the HTML report below, or circle report --json on the server.</i>",
  );
  return lines.join("\n");
}

/**
 * `/report codes`: the qualitative codes as a shared view — counts suppressed below smallCell and
 * no excerpts (the texts stay on the server: `circle report --codes --html`).
 */
async function sendCodesReport(s: Services, chatId: number, locale: string): Promise<void> {
  const { codeReport } = await import("../../analysis/qualitative.js");
  const { codeReportText } = await import("../../analysis/qualitative-view.js");
  const { report } = await codeReport(s.db, s.flows, s.now());
  const text = codeReportText(report, s.flows, {
    locale,
    smallCell: s.flows.study.thresholds.smallCell,
  });
  await s.messenger.sendPre(chatId, text);
  await s.messenger.send(
    chatId,
    "<i>Excerpts, CSV and the REFI-QDA project (.qdpx): circle report --codes on the server.</i>",
  );
}

/**
 * `/export [csv|spss|r|stata|all …] [language]`: the formats and the labels' language (default:
 * the researcher's own chat language). Returns the usage text for anything else.
 */
async function exportChoice(
  match: string,
  study: Services["flows"]["study"],
  chatLocale: string,
): Promise<{ formats: ExportFormat[]; locale: string } | string> {
  const { FORMAT_CHOICES, FormatError, parseFormats } =
    await import("../../analysis/export-formats/index.js");
  const words = match.split(/[\s,]+/).filter((w) => w !== "");
  const locales = words.filter((w) => study.locales.includes(w.toLowerCase()));
  const rest = words.filter((w) => !study.locales.includes(w.toLowerCase()));
  const usage = (problem: string) =>
    `${escapeHtml(problem)}\nUsage: <code>/export [format] [language]</code>, e.g. <code>/export spss</code>, <code>/export all ${escapeHtml(study.locales.at(-1) ?? "")}</code>\nFormats: ${FORMAT_CHOICES.map((f) => `<code>${f}</code>`).join(", ")} (csv is the default; the others add an SPSS, R or Stata script that reads the CSV files with labels)\nLanguages: ${study.locales.map((l) => `<code>${escapeHtml(l)}</code>`).join(", ")}`;
  if (locales.length > 1) return usage("Choose one language.");
  try {
    const formats = rest.length > 0 ? parseFormats(rest.join(",")) : (["csv"] as const);
    const locale =
      locales[0]?.toLowerCase() ??
      (study.locales.includes(chatLocale) ? chatLocale : study.defaultLocale);
    return { formats: [...formats], locale };
  } catch (e) {
    if (e instanceof FormatError) return usage(`Unknown format: ${rest.join(" ")}.`);
    throw e;
  }
}

/**
 * `/report baseline [instrument]` (needs assessment: summary, profile charts, HTML) and
 * `/report flow` (participant flow: text, diagram, HTML). Shared views: small cells suppressed.
 */
async function sendBaselineOrFlow(
  s: Services,
  chatId: number,
  locale: string,
  kind: "baseline" | "flow",
  instrument: string,
): Promise<void> {
  const view = { locale, smallCell: s.flows.study.thresholds.smallCell };
  const stamp = s.now().toISOString().slice(0, 10);
  if (kind === "flow") {
    const { buildConsort } = await import("../../analysis/consort.js");
    const { consortHtml, consortPng, consortText } = await import("../../analysis/consort-view.js");
    const flow = await buildConsort(s.db, s.flows, s.now());
    await s.messenger.sendPre(chatId, consortText(flow, s.flows, view));
    await s.api.sendPhoto(chatId, new InputFile(await consortPng(flow, s.flows, view), "flow.png"));
    const html = consortHtml(flow, s.flows, view);
    await s.api.sendDocument(
      chatId,
      new InputFile(Buffer.from(html, "utf8"), `flow-${stamp}.html`),
    );
    return;
  }
  const { buildBaseline } = await import("../../analysis/baseline.js");
  const { ReportError } = await loadReport();
  const v = await import("../../analysis/baseline-view.js");
  try {
    const { report, context } = await buildBaseline(s.db, s.flows, {
      instrument: instrument || undefined,
      now: s.now(),
    });
    await s.messenger.send(chatId, v.baselineSummary(report, context, view));
    const charts = await v.baselineCharts(report, context, view);
    for (const ch of charts)
      await s.api.sendPhoto(chatId, new InputFile(ch.png, ch.name), {
        caption: escapeHtml(ch.title),
        parse_mode: "HTML",
      });
    const html = v.baselineHtml(report, context, s.flows, charts, view);
    await s.api.sendDocument(
      chatId,
      new InputFile(Buffer.from(html, "utf8"), `baseline-${instrument || stamp}.html`),
    );
  } catch (e) {
    if (!(e instanceof ReportError)) throw e;
    await s.messenger.send(chatId, escapeHtml(e.message));
  }
}

export function researcherFeature(_s: Services): Composer<CircleContext> {
  const c = new Composer<CircleContext>();
  const allowed = c
    .chatType("private")
    .filter((ctx) => RESEARCH_ROLES.has(ctx.circle.account?.role ?? ""));

  allowed.command("progress", async (ctx) => {
    const { s, locale } = ctx.circle;
    const progress = await readSnapshot(s.db, (tx) => buildProgress(tx, s.flows));
    await s.messenger.sendPre(ctx.chat.id, formatProgressText(progress, locale));
  });

  allowed.command("report", async (ctx) => {
    const { s, locale } = ctx.circle;
    const id = ctx.match.trim();
    if (id === "codes") {
      await sendCodesReport(s, ctx.chat.id, locale);
      return;
    }
    const [head = "", ...rest] = id.split(/\s+/);
    if (head === "baseline" || head === "flow") {
      await sendBaselineOrFlow(s, ctx.chat.id, locale, head, rest.join(" "));
      return;
    }
    const scored = s.flows.instrumentList
      .filter((i) => i.subscales.length > 0 && i.respondent !== "facilitator")
      .map((i) => i.id);
    if (!id) {
      await s.messenger.send(
        ctx.chat.id,
        `Usage: <code>/report instrument-id</code> or <code>/report codes</code> (qualitative codes), <code>/report baseline [instrument-id]</code> (needs assessment), <code>/report flow</code> (participant flow)\nInstruments: ${scored.map((x) => `<code>${escapeHtml(x)}</code>`).join(", ")}`,
      );
      return;
    }
    const { buildReport, ReportError } = await loadReport();
    const { fp, reportCharts, reportHtml } = await loadView();
    const { satisfactionRows } = await import("../../analysis/satisfaction.js");
    try {
      const small = s.flows.study.thresholds.smallCell;
      const { report, context } = await buildReport(s.db, s.flows, id, s.now());
      await s.messenger.send(ctx.chat.id, summary(report, context, locale, small, fp));
      const charts = await reportCharts(
        report,
        context,
        s.flows,
        await satisfactionRows(s.db, s.flows),
        { locale, smallCell: small },
      );
      for (const ch of charts)
        await s.api.sendPhoto(ctx.chat.id, new InputFile(ch.png, ch.name), {
          caption: escapeHtml(ch.title),
          parse_mode: "HTML",
        });
      const { effectReportCodeSection } = await import("../../analysis/qualitative-view.js");
      const { effectReportSections } = await import("../../analysis/consort-view.js");
      const appendixHtml = [
        await effectReportSections(s.db, s.flows, id, { locale, smallCell: small, now: s.now() }),
        await effectReportCodeSection(s.db, s.flows, {
          locale,
          smallCell: small,
          now: s.now(),
        }),
      ].join("\n");
      const html = reportHtml(report, context, s.flows, charts, {
        locale,
        smallCell: small,
        appendixHtml,
      });
      await s.api.sendDocument(
        ctx.chat.id,
        new InputFile(Buffer.from(html, "utf8"), `report-${id}.html`),
      );
    } catch (e) {
      if (!(e instanceof ReportError)) throw e;
      await s.messenger.send(
        ctx.chat.id,
        `${escapeHtml(e.message)}\nInstruments: ${scored.map((x) => `<code>${escapeHtml(x)}</code>`).join(", ")}`,
      );
    }
  });

  allowed.command("export", async (ctx) => {
    const { s } = ctx.circle;
    const { exportData } = await import("../../usecases/export.js");
    const choice = await exportChoice(ctx.match, s.flows.study, ctx.circle.locale);
    if (typeof choice === "string") {
      await s.messenger.send(ctx.chat.id, choice);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "circle-export-"));
    try {
      await exportData(
        s.db,
        s.flows,
        dir,
        { kind: "account", accountId: ctx.circle.account!.id },
        choice,
      );
      const files: Record<string, Uint8Array> = {};
      for (const name of readdirSync(dir).sort()) files[name] = readFileSync(join(dir, name));
      const zip = zipSync(files, { level: 6 });
      const stamp = s.now().toISOString().slice(0, 10);
      await s.api.sendDocument(
        ctx.chat.id,
        new InputFile(Buffer.from(zip), `circle-export-${stamp}.zip`),
        {
          caption:
            `${Object.keys(files).length} files (pseudonymous codes only)` +
            (choice.formats.some((f) => f !== "csv")
              ? `; ${choice.formats.join(", ")}, labels in ${choice.locale}`
              : ""),
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return c;
}
