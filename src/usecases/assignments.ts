// Which questionnaires a participant's family answers, and when. A timepoint "opens" for a
// participant by creating its response sets (status pending); the bot then walks them in order.
import type { Tx } from "../db/client.js";
import type { Instrument, LoadedFlows, Respondent } from "../study/model.js";
import { audit, type AuditActor } from "../store/audit.js";

export interface Assignment {
  slot: string;
  timepoint: string | null;
  sessionId: number | null;
  instrument: Instrument;
  respondent: Respondent;
}

export function responseSetKey(a: {
  participantId: number | null;
  sessionId?: number | null;
  slot: string;
  instrumentId: string;
  respondent: string;
}): string {
  return [a.participantId ?? "-", a.sessionId ?? "-", a.slot, a.instrumentId, a.respondent].join(
    "|",
  );
}

/** Instruments the study assigns at a timepoint to a participant of this arm (null = no arm). */
export function timepointAssignments(
  flows: LoadedFlows,
  timepoint: string,
  arm: string | null,
): Assignment[] {
  const out: Assignment[] = [];
  const armKey = arm ?? "none";
  for (const a of flows.study.assignments.timepoints) {
    if (a.timepoint !== timepoint) continue;
    if (a.arms && !a.arms.includes(armKey as "none")) continue;
    for (const respondent of ["parent", "child"] as const) {
      for (const id of a[respondent]) {
        const instrument = flows.instruments.get(id);
        if (instrument)
          out.push({ slot: timepoint, timepoint, sessionId: null, instrument, respondent });
      }
    }
  }
  return out;
}

export async function createResponseSets(
  tx: Tx,
  participantId: number,
  assignments: Assignment[],
  actor: AuditActor,
): Promise<number> {
  let created = 0;
  for (const a of assignments) {
    const key = responseSetKey({
      participantId,
      sessionId: a.sessionId,
      slot: a.slot,
      instrumentId: a.instrument.id,
      respondent: a.respondent,
    });
    const existing = await tx.responseSet.findUnique({ where: { key } });
    if (existing) continue;
    const rs = await tx.responseSet.create({
      data: {
        key,
        participantId,
        sessionId: a.sessionId,
        slot: a.slot,
        timepoint: a.timepoint,
        instrumentId: a.instrument.id,
        instrumentVersion: a.instrument.version,
        instrumentHash: a.instrument.hash,
        respondent: a.respondent,
        status: "pending",
      },
    });
    created++;
    await audit(tx, {
      actor,
      action: "questionnaire.assign",
      entity: "ResponseSet",
      entityId: rs.id,
      data: { slot: a.slot, instrument: a.instrument.id, respondent: a.respondent },
    });
  }
  return created;
}

/** Opens a timepoint for one participant (idempotent). Withdrawn or non-consented participants get nothing. */
export async function openTimepoint(
  tx: Tx,
  flows: LoadedFlows,
  participantId: number,
  timepoint: string,
  actor: AuditActor,
): Promise<number> {
  const p = await tx.participant.findUniqueOrThrow({ where: { id: participantId } });
  if (p.status !== "consented") return 0;
  return createResponseSets(
    tx,
    participantId,
    timepointAssignments(flows, timepoint, p.arm),
    actor,
  );
}

/** Chronological order of slots: timepoints in study order, sessions between the first two, then the group end. */
export function slotOrder(flows: LoadedFlows, slot: string): number {
  const tp = flows.study.timepoints.findIndex((t) => t.id === slot);
  if (tp >= 0) return tp * 1000;
  const m = /^session:(\d+)$/.exec(slot);
  if (m) return 500 + Number(m[1]);
  if (slot === "group-end") return 900;
  return 999_999;
}

/**
 * Order in which a family is asked: a session's questionnaire first (it is about today's session
 * and loses its value if answered late), then the end-of-group survey, then timepoints in study
 * order. (A questionnaire already in progress is always finished first.)
 */
export function askingOrder(flows: LoadedFlows, slot: string): number {
  const m = /^session:(\d+)$/.exec(slot);
  if (m) return Number(m[1]);
  if (slot === "group-end") return 100;
  return 1000 + slotOrder(flows, slot);
}

/** The next response set this family should answer: earliest slot first, parent before child. */
export async function nextFamilyResponseSet(db: Tx, flows: LoadedFlows, participantId: number) {
  const open = await db.responseSet.findMany({
    where: { participantId, status: { not: "complete" }, respondent: { in: ["parent", "child"] } },
    orderBy: { id: "asc" },
  });
  return firstToAsk(flows, open);
}

/** Of a family's unfinished sets, the one asked first: by slot, parent before child, then id. */
export function firstToAsk<T extends { slot: string; respondent: string; id: number }>(
  flows: LoadedFlows,
  open: readonly T[],
): T | null {
  const sorted = [...open].sort(
    (a, b) =>
      askingOrder(flows, a.slot) - askingOrder(flows, b.slot) ||
      (a.respondent === b.respondent ? 0 : a.respondent === "parent" ? -1 : 1) ||
      a.id - b.id,
  );
  return sorted[0] ?? null;
}
