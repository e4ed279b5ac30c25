import type { Command } from "commander";
import { verifyAuditChain } from "../../store/audit.js";
import { readSnapshot } from "../../db/client.js";
import { CliFailure } from "../context.js";
import type { GetContext } from "./index.js";

export function registerAudit(program: Command, ctx: GetContext): void {
  const audit = program.command("audit").description("the hash-chained audit trail");
  audit
    .command("verify")
    .description("check every link of the audit chain; exit 1 at the first broken one")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      // One snapshot: the bot may be appending events while the chain is walked.
      const verdict = await readSnapshot(await c.db(), (tx) => verifyAuditChain(tx));
      if (opts.json) c.json(verdict);
      if (!verdict.ok) {
        throw new CliFailure(
          `audit chain broken at event ${verdict.brokenAt!.seq}: ${verdict.brokenAt!.reason} (${verdict.events} events before it verified)`,
        );
      }
      if (!opts.json) c.out(`audit chain ok: ${verdict.events} events`);
    });
}
