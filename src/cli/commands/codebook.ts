import type { Command } from "commander";
import { codebookCsv, codebookJson, codebookSummary } from "../../study/codebook.js";
import { UsageError } from "../context.js";
import type { GetContext } from "./index.js";

export function registerCodebook(program: Command, ctx: GetContext): void {
  program
    .command("codebook")
    .description("every instrument's items, answer codes and subscales")
    .option("--json", "the codebook as JSON (contract)")
    .option("--csv", "one row per item, as CSV")
    .action(async (opts: { json?: boolean; csv?: boolean }) => {
      if (opts.json && opts.csv) throw new UsageError("choose one of --json and --csv");
      const c = ctx();
      const flows = await c.flows();
      if (opts.json) c.json(codebookJson(flows));
      else if (opts.csv) c.out(codebookCsv(flows));
      else c.out(codebookSummary(flows, c.config.DEFAULT_LOCALE));
    });
}
