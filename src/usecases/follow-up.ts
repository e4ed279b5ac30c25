// A follow-up timepoint whose window opens days after a group's last session: the scheduler opens
// it for the group when the day comes (src/notify/handlers.ts decides that it is due), in the
// transaction that completes its job (src/usecases/jobs.ts).
import type { Tx } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import { audit } from "../store/audit.js";
import { enqueueJobs, type JobInput } from "../scheduler/jobs.js";
import { JOB } from "../scheduler/planner.js";
import { openTimepoint } from "./assignments.js";

/**
 * The group's consented members get the timepoint's questionnaires (withdrawn and declined ones
 * nothing), and each family that got some is told once, like after `circle timepoint open`.
 */
export async function openFollowUpForGroup(
  tx: Tx,
  flows: LoadedFlows,
  group: { id: number; name: string },
  timepoint: string,
  at: Date,
): Promise<void> {
  const members = await tx.participant.findMany({
    where: { groupId: group.id },
    select: { id: true, code: true },
    orderBy: { id: "asc" },
  });
  const announce: JobInput[] = [];
  let questionnaires = 0;
  for (const m of members) {
    const n = await openTimepoint(tx, flows, m.id, timepoint, { kind: "system" });
    questionnaires += n;
    if (n > 0)
      announce.push({
        kind: JOB.announce,
        dueAt: at,
        // The key `circle timepoint open` uses: a family is told once however it was opened.
        dedupeKey: `announce:${m.id}:${timepoint}`,
        payload: { participantId: m.id },
      });
  }
  await enqueueJobs(tx, announce);
  await audit(tx, {
    actor: { kind: "system" },
    action: "timepoint.open",
    entity: "Group",
    entityId: group.id,
    at,
    data: {
      group: group.name,
      timepoint,
      members: members.length,
      opened: announce.length,
      questionnaires,
    },
  });
}
