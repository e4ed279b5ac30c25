import type { Command } from "commander";
import { buildProgress, formatProgressText } from "../../analysis/progress.js";
import { readSnapshot } from "../../db/client.js";
import type { GetContext } from "./index.js";

export function registerProgress(program: Command, ctx: GetContext): void {
  program
    .command("progress")
    .description("who has answered what, session logs, attendance and satisfaction")
    .option("--json", "machine-readable output (contract)")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const flows = await c.flows();
      // One snapshot on the read-only connection: consistent, and no writer waits for it.
      const progress = await readSnapshot(await c.db(), (tx) => buildProgress(tx, flows));
      if (opts.json) c.json(progress);
      else c.out(formatProgressText(progress, c.config.DEFAULT_LOCALE));
    });
}
