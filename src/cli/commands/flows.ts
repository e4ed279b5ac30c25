import type { Command } from "commander";
import { loadFlows } from "../../flows/load.js";
import { CliFailure } from "../context.js";
import type { GetContext } from "./index.js";

export function registerFlows(program: Command, ctx: GetContext): void {
  const flows = program
    .command("flows")
    .description("the study and instrument files (FLOWS_DIR, EXTRA_FLOWS_DIR)");
  flows
    .command("check")
    .description("validate every flow file and list all problems (file: path: problem)")
    .option("--json", "machine-readable output")
    .action((opts: { json?: boolean }) => {
      const c = ctx();
      const r = loadFlows({ flowsDir: c.config.FLOWS_DIR, extraDir: c.config.EXTRA_FLOWS_DIR });
      const list = r.ok ? r.flows.instrumentList : r.instruments;
      if (opts.json) {
        c.json({
          ok: r.ok,
          errors: r.ok ? [] : r.errors,
          instruments: list.map((i) => ({ id: i.id, hash: i.hash, items: i.items.length })),
        });
      }
      if (!r.ok) {
        throw new CliFailure(
          `flows have ${r.errors.length} error(s)`,
          opts.json ? undefined : r.errors.join("\n"),
        );
      }
      if (!opts.json) {
        for (const w of r.warnings) c.out(`warning: ${w}`);
        const items = list.reduce((n, i) => n + i.items.length, 0);
        c.out(
          `flows ok: ${list.length} instruments, ${items} items, locales ${r.flows.study.locales.join(", ")}`,
        );
      }
    });
}
