// A researcher opens a study timepoint by hand (`circle timepoint open post --arm control`): its
// questionnaires are assigned now to the chosen participants (consented ones only; see
// openTimepoint), and each family that got any is told once by the running bot. The telling is an
// `announce` job in the same transaction, which the scheduler sends paced and re-checks at send
// time. (A follow-up anchored on a group's last session the scheduler opens by itself.)
import type { Db } from "../db/client.js";
import type { AuditActor } from "../store/audit.js";
import type { LoadedFlows } from "../study/model.js";
import { enqueueJob, type JobInput } from "../scheduler/jobs.js";
import { JOB } from "../scheduler/planner.js";
import { openTimepoint } from "./assignments.js";
import { DomainError } from "./participants.js";

/** Who it opens for: a participant (by code), or a group's or an arm's members (arm null: none). */
export type TimepointTarget = { participant: string } | { group: string } | { arm: string | null };

export interface OpenedTimepoint {
  timepoint: string;
  /** Participants the target matched. */
  participants: number;
  /** Of them, those who got at least one questionnaire. */
  opened: number;
  /** Questionnaires assigned now (a timepoint opened again assigns none). */
  questionnaires: number;
}

/**
 * The job that tells a family that questionnaires wait for them, keyed by participant and
 * timepoint: however often a timepoint is opened (by hand or by the scheduler), the family hears
 * of it once.
 */
export function announceJob(participantId: number, timepoint: string, dueAt: Date): JobInput {
  return {
    kind: JOB.announce,
    dueAt,
    payload: { participantId },
    dedupeKey: `announce:${participantId}:${timepoint}`,
  };
}

/**
 * Opens `timepoint` for the target's participants (idempotent) and, unless `announce` is false,
 * enqueues each newly asked family's announcement. Fails when the target matches nobody.
 */
export async function assignTimepoint(
  db: Db,
  flows: LoadedFlows,
  timepoint: string,
  target: TimepointTarget,
  actor: AuditActor,
  opts: { announce?: boolean } = {},
): Promise<OpenedTimepoint> {
  if (!flows.study.timepoints.some((t) => t.id === timepoint))
    throw new DomainError(`unknown timepoint "${timepoint}"`);
  const where =
    "participant" in target
      ? { code: target.participant }
      : "group" in target
        ? { group: { name: target.group } }
        : { arm: target.arm };
  return db.$transaction(async (tx) => {
    const participants = await tx.participant.findMany({ where, orderBy: { id: "asc" } });
    if (participants.length === 0) throw new DomainError("no participant matches");
    const at = new Date();
    let opened = 0;
    let questionnaires = 0;
    for (const p of participants) {
      const n = await openTimepoint(tx, flows, p.id, timepoint, actor);
      questionnaires += n;
      if (n === 0) continue;
      opened++;
      if (opts.announce !== false) await enqueueJob(tx, announceJob(p.id, timepoint, at));
    }
    return { timepoint, participants: participants.length, opened, questionnaires };
  });
}
