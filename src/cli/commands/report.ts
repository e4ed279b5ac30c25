import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { buildReport, ReportError } from "../../analysis/report.js";
import { CliFailure, UsageError } from "../context.js";
import type { GetContext } from "./index.js";

export function registerReport(program: Command, ctx: GetContext): void {
  program
    .command("report")
    .description(
      "effect analysis of one instrument: JSON (contract), text, or an HTML file with charts",
    )
    .requiredOption("--instrument <id>", "instrument id, e.g. social-skills")
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
        instrument: string;
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
            writeFileSync(
              opts.html,
              reportHtml(report, context, flows, charts, { locale, smallCell: small }),
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
