import type { Command } from "commander";
import { DomainError } from "../../usecases/participants.js";
import { assignTimepoint, type TimepointTarget } from "../../usecases/timepoints.js";
import { CliFailure, UsageError } from "../context.js";
import type { GetContext } from "./index.js";

export function registerTimepoint(program: Command, ctx: GetContext): void {
  const tp = program
    .command("timepoint")
    .description("open a study timepoint (e.g. post) for participants");
  tp.command("open")
    .description(
      "assign a timepoint's questionnaires; the bot then asks the families (consented, not withdrawn, only)",
    )
    .argument("<timepoint>", "timepoint id from study.yaml, e.g. post")
    .option("--participant <code>", "one participant")
    .option("--group <name>", "every member of a group")
    .option("--arm <arm>", "every member of an arm (experimental|control|none)")
    .option("--json", "machine-readable output")
    .action(
      async (
        timepoint: string,
        opts: { participant?: string; group?: string; arm?: string; json?: boolean },
      ) => {
        const c = ctx();
        const flows = await c.flows();
        if (!flows.study.timepoints.some((t) => t.id === timepoint))
          throw new UsageError(`unknown timepoint "${timepoint}"`);
        if ([opts.participant, opts.group, opts.arm].filter(Boolean).length !== 1)
          throw new UsageError("choose exactly one of --participant, --group, --arm");
        const target: TimepointTarget = opts.participant
          ? { participant: opts.participant }
          : opts.group
            ? { group: opts.group }
            : { arm: opts.arm === "none" ? null : opts.arm! };
        const db = await c.db();
        const out = await assignTimepoint(db, flows, timepoint, target, { kind: "cli" }).catch(
          (e: unknown) => {
            throw e instanceof DomainError ? new CliFailure(e.message) : e;
          },
        );
        if (opts.json) c.json(out);
        else
          c.out(
            `${timepoint}: ${out.questionnaires} questionnaire(s) assigned to ${out.opened} of ${out.participants} participant(s) (only consented, not withdrawn). The running bot tells each family within a few seconds.`,
          );
      },
    );
}
