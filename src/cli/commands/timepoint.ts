import type { Command } from "commander";
import { openTimepoint } from "../../usecases/assignments.js";
import { enqueueJob } from "../../scheduler/jobs.js";
import { JOB } from "../../scheduler/planner.js";
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
        const db = await c.db();
        const where = opts.participant
          ? { code: opts.participant }
          : opts.group
            ? { group: { name: opts.group } }
            : { arm: opts.arm === "none" ? null : opts.arm };
        const participants = await db.participant.findMany({ where });
        if (participants.length === 0) throw new CliFailure("no participant matches");
        let sets = 0;
        let opened = 0;
        await db.$transaction(async (tx) => {
          for (const p of participants) {
            const n = await openTimepoint(tx, flows, p.id, timepoint, { kind: "cli" });
            sets += n;
            if (n > 0) {
              opened++;
              // The running bot's scheduler tells the family (paced, decided at send time).
              await enqueueJob(tx, {
                kind: JOB.announce,
                dueAt: new Date(),
                payload: { participantId: p.id },
                dedupeKey: `announce:${p.id}:${timepoint}`,
              });
            }
          }
        });
        const out = { timepoint, participants: participants.length, opened, questionnaires: sets };
        if (opts.json) c.json(out);
        else
          c.out(
            `${timepoint}: ${sets} questionnaire(s) assigned to ${opened} of ${participants.length} participant(s) (only consented, not withdrawn). The running bot tells each family within a few seconds.`,
          );
      },
    );
}
