import type { Command } from "commander";
import { buildExport } from "../../analysis/export.js";
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
    .option("--json", "machine-readable output")
    .action(async (opts: { out: string; json?: boolean }) => {
      const c = ctx();
      const result = await buildExport(await c.db(), await c.flows(), opts.out, { kind: "cli" });
      if (opts.json) {
        c.json(result);
        return;
      }
      const width = Math.max(...result.files.map((f) => f.name.length));
      c.out(
        [
          `exported ${result.files.length} files to ${result.dir}:`,
          ...result.files.map(
            (f) =>
              `  ${f.name.padEnd(width)}  ${f.rows} ${f.name.endsWith(".json") ? "instruments" : "rows"}`,
          ),
        ].join("\n"),
      );
    });
}
