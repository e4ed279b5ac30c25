import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { Db } from "../../db/client.js";
import type { LoadedFlows } from "../../study/model.js";
import { buildReport, ReportError } from "../../analysis/report.js";
import { CliFailure, UsageError, type CliContext } from "../context.js";
import type { GetContext } from "./index.js";

export function registerReport(program: Command, ctx: GetContext): void {
  program
    .command("report")
    .description(
      "effect analysis of one instrument (--instrument), the qualitative codes (--codes), the baseline needs assessment (--baseline) or the participant flow (--flow): JSON (contract), text, or an HTML file",
    )
    .option(
      "--instrument <id>",
      "instrument id, e.g. social-skills (required unless --codes, --baseline or --flow)",
    )
    .option("--codes", "the qualitative codes report of facilitators' notes and interviews")
    .option(
      "--baseline",
      "the baseline needs assessment: every child at the first timepoint (--instrument optional)",
    )
    .option("--flow", "the CONSORT-style participant flow, with a diagram in --html")
    .option("--out <dir>", "with --codes: write codes_summary.csv and coded_segments.csv there")
    .option("--qdpx <file>", "with --codes: write a REFI-QDA project (NVivo, ATLAS.ti, MAXQDA)")
    .option("--no-excerpts", "with --codes --html: leave the note texts out of the HTML")
    .option("--json", "the full report as JSON (never suppressed)")
    .option("--text", "a readable text report (default)")
    .option("--html <file>", "write a self-contained HTML report with embedded charts")
    .option("--locale <locale>", "language of labels in text/HTML (default: the study's)")
    .option(
      "--small-cell <n>",
      "suppress cells under n in text/HTML (default: the study's smallCell)",
    )
    .action(
      async (opts: {
        instrument?: string;
        codes?: boolean;
        baseline?: boolean;
        flow?: boolean;
        out?: string;
        qdpx?: string;
        excerpts?: boolean;
        json?: boolean;
        text?: boolean;
        html?: string;
        locale?: string;
        smallCell?: string;
      }) => {
        if ([opts.json, opts.text, opts.html !== undefined].filter(Boolean).length > 1)
          throw new UsageError("choose one of --json, --text, --html <file>");
        const c = ctx();
        const flows = await c.flows();
        const db = await c.db();
        const small =
          opts.smallCell === undefined ? flows.study.thresholds.smallCell : Number(opts.smallCell);
        if (!Number.isInteger(small) || small < 1)
          throw new UsageError("--small-cell must be a whole number ≥ 1");
        const locale = opts.locale ?? flows.study.defaultLocale;
        if (opts.baseline || opts.flow) {
          if ([opts.baseline, opts.flow, opts.codes].filter(Boolean).length > 1)
            throw new UsageError("choose one of --baseline, --flow, --codes");
          if (opts.flow && opts.instrument)
            throw new UsageError("--flow covers the whole study; leave out --instrument");
          if (opts.out !== undefined || opts.qdpx !== undefined)
            throw new UsageError("--out and --qdpx go with --codes");
          return reportBaselineOrFlow(c, db, flows, { ...opts, locale, small });
        }
        if (opts.codes) {
          if (opts.instrument) throw new UsageError("choose one of --instrument <id>, --codes");
          return reportCodes(c, db, flows, { ...opts, locale, small });
        }
        if (!opts.instrument)
          throw new UsageError("--instrument <id> is required (or --codes, --baseline or --flow)");
        if (opts.out !== undefined || opts.qdpx !== undefined)
          throw new UsageError("--out and --qdpx go with --codes");
        try {
          const { report, context } = await buildReport(db, flows, opts.instrument);
          if (opts.json) return c.json(report);
          // Charts pull in vega, resvg and a CJK font: only load them when a view needs them.
          const { reportCharts, reportHtml, reportText } =
            await import("../../analysis/report-view.js");
          const { satisfactionRows } = await import("../../analysis/satisfaction.js");
          if (opts.html) {
            const charts = await reportCharts(
              report,
              context,
              flows,
              await satisfactionRows(db, flows),
              { locale, smallCell: small },
            );
            const { effectReportCodeSection } = await import("../../analysis/qualitative-view.js");
            const { effectReportSections } = await import("../../analysis/consort-view.js");
            const appendixHtml = [
              await effectReportSections(db, flows, opts.instrument, { locale, smallCell: small }),
              await effectReportCodeSection(db, flows, { locale, smallCell: small }),
            ].join("\n");
            writeFileSync(
              opts.html,
              reportHtml(report, context, flows, charts, {
                locale,
                smallCell: small,
                appendixHtml,
              }),
            );
            c.out(`wrote ${opts.html} (${charts.length} chart(s))`);
            return;
          }
          c.out(reportText(report, context, flows, { locale, smallCell: small }));
        } catch (e) {
          if (e instanceof ReportError) throw new CliFailure(e.message);
          throw e;
        }
      },
    );
}

/** `circle report --codes`: the qualitative codes report, its CSV files and the .qdpx project. */
async function reportCodes(
  c: CliContext,
  db: Db,
  flows: LoadedFlows,
  opts: {
    json?: boolean;
    text?: boolean;
    html?: string;
    out?: string;
    qdpx?: string;
    excerpts?: boolean;
    locale: string;
    small: number;
  },
): Promise<void> {
  const { codeReport } = await import("../../analysis/qualitative.js");
  const { codeReportHtml, codeReportText } = await import("../../analysis/qualitative-view.js");
  const { exportCodeCsv, exportQdpx } = await import("../../usecases/export.js");
  const now = new Date();
  const { report, notes } = await codeReport(db, flows, now);
  const view = { locale: opts.locale, smallCell: opts.small };
  const wrote: string[] = [];
  if (opts.out !== undefined) {
    const files = await exportCodeCsv(db, flows, report, notes, opts.out, {
      actor: { kind: "cli" },
      locale: opts.locale,
    });
    wrote.push(...files.map((f) => `wrote ${join(opts.out!, f.name)} (${f.rows} rows)`));
  }
  if (opts.qdpx !== undefined) {
    const q = await exportQdpx(db, flows, notes, opts.qdpx, {
      now,
      locale: opts.locale,
      actor: { kind: "cli" },
    });
    wrote.push(`wrote ${q.file} (${q.sources} sources, ${q.codings} codings)`);
  }
  if (opts.html !== undefined) {
    writeFileSync(opts.html, codeReportHtml(report, flows, { ...view, excerpts: opts.excerpts }));
    wrote.push(`wrote ${opts.html}${opts.excerpts === false ? " (without excerpts)" : ""}`);
  }
  if (opts.json) return c.json(report);
  if (wrote.length > 0 && !opts.text) return c.out(wrote.join("\n"));
  c.out(codeReportText(report, flows, view));
  if (wrote.length > 0) c.out(wrote.join("\n"));
}

/** `circle report --baseline` and `circle report --flow`: JSON, text, or an HTML file. */
async function reportBaselineOrFlow(
  c: CliContext,
  db: Db,
  flows: LoadedFlows,
  opts: {
    baseline?: boolean;
    instrument?: string;
    json?: boolean;
    html?: string;
    locale: string;
    small: number;
  },
): Promise<void> {
  const view = { locale: opts.locale, smallCell: opts.small };
  if (opts.baseline) {
    const { buildBaseline } = await import("../../analysis/baseline.js");
    try {
      const { report, context } = await buildBaseline(db, flows, { instrument: opts.instrument });
      if (opts.json) return c.json(report);
      const v = await import("../../analysis/baseline-view.js");
      if (opts.html === undefined) return c.out(v.baselineText(report, context, flows, view));
      const charts = await v.baselineCharts(report, context, view);
      writeFileSync(opts.html, v.baselineHtml(report, context, flows, charts, view));
      return c.out(`wrote ${opts.html} (${charts.length} chart(s))`);
    } catch (e) {
      if (e instanceof ReportError) throw new CliFailure(e.message);
      throw e;
    }
  }
  const { buildConsort } = await import("../../analysis/consort.js");
  const flow = await buildConsort(db, flows);
  if (opts.json) return c.json(flow);
  const v = await import("../../analysis/consort-view.js");
  if (opts.html === undefined) return c.out(v.consortText(flow, flows, view));
  writeFileSync(opts.html, v.consortHtml(flow, flows, view));
  c.out(`wrote ${opts.html} (participant flow diagram)`);
}
