import type { Command } from "commander";
import { FORMAT_CHOICES, FormatError, parseFormats } from "../../analysis/export-formats/index.js";
import { exportData } from "../../usecases/export.js";
import { UsageError } from "../context.js";
import type { GetContext } from "./index.js";

export function registerExport(program: Command, ctx: GetContext): void {
  program
    .command("export")
    .description(
      'write the research data as CSV (UTF-8, no BOM, comma, "." decimals, UTC times) plus the codebook; pseudonymous codes only',
    )
    .requiredOption(
      "--out <dir>",
      "folder to write into (created if missing; files of the same names are replaced)",
    )
    .option(
      "--format <formats>",
      `what to write beside the CSV files: ${FORMAT_CHOICES.join(", ")} (several: spss,r); spss, r and stata add circle.sps, circle.R and circle.do, which read the CSVs with labels and types`,
      "csv",
    )
    .option("--lang <locale>", "language of the labels in the scripts (default: the study's)")
    .option("--json", "machine-readable output")
    .action(async (opts: { out: string; format: string; lang?: string; json?: boolean }) => {
      let formats;
      try {
        formats = parseFormats(opts.format);
      } catch (e) {
        if (e instanceof FormatError) throw new UsageError(`--format: ${e.message}`);
        throw e;
      }
      const c = ctx();
      const flows = await c.flows();
      if (opts.lang !== undefined && !flows.study.locales.includes(opts.lang))
        throw new UsageError(
          `--lang must be one of the study's languages: ${flows.study.locales.join(", ")}; got "${opts.lang}"`,
        );
      const result = await exportData(
        await c.db(),
        flows,
        opts.out,
        { kind: "cli" },
        { formats, locale: opts.lang ?? flows.study.defaultLocale },
      );
      if (opts.json) {
        c.json(result);
        return;
      }
      const width = Math.max(...result.files.map((f) => f.name.length));
      c.out(
        [
          `exported ${result.files.length} files to ${result.dir}:`,
          ...result.files.map((f) => `  ${f.name.padEnd(width)}  ${f.rows} ${unit(f.name)}`),
        ].join("\n"),
      );
    });
}

function unit(name: string): string {
  if (name.endsWith(".json")) return "instruments";
  return /\.(sps|R|do)$/.test(name) ? "variables" : "rows";
}
