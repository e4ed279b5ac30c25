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
// The report, its charts (vega, resvg, a CJK font) and the export load on first use: they cost
// about half a second of start-up that parents and facilitators should not wait for.
const loadReport = () => import("../../analysis/report.js");
const loadView = () => import("../../analysis/report-view.js");
import { t } from "../../flows/model.js";

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
  }
  lines.push(
    "",
    "<i>Full numbers, methods and charts: the HTML report below, or circle report --json on the server.</i>",
  );
  return lines.join("\n");
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
    const scored = s.flows.instrumentList
      .filter((i) => i.subscales.length > 0 && i.respondent !== "facilitator")
      .map((i) => i.id);
    if (!id) {
      await s.messenger.send(
        ctx.chat.id,
        `Usage: <code>/report instrument-id</code>\nInstruments: ${scored.map((x) => `<code>${escapeHtml(x)}</code>`).join(", ")}`,
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
      const html = reportHtml(report, context, s.flows, charts, { locale, smallCell: small });
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
    const { buildExport } = await import("../../analysis/export.js");
    const dir = mkdtempSync(join(tmpdir(), "circle-export-"));
    try {
      await buildExport(s.db, s.flows, dir, { kind: "account", accountId: ctx.circle.account!.id });
      const files: Record<string, Uint8Array> = {};
      for (const name of readdirSync(dir).sort()) files[name] = readFileSync(join(dir, name));
      const zip = zipSync(files, { level: 6 });
      const stamp = s.now().toISOString().slice(0, 10);
      await s.api.sendDocument(
        ctx.chat.id,
        new InputFile(Buffer.from(zip), `circle-export-${stamp}.zip`),
        {
          caption: `${Object.keys(files).length} files (pseudonymous codes only)`,
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return c;
}
