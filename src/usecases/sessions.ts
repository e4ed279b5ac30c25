// A group session's log and what closing it sets in motion: attendance, per-child observations,
// the facilitator's reflection, corrections during an amendment, the after-session questionnaires
// for the families of attending children, the end of the group, and (through the outbox, in the
// close's own transaction) the messages that tell those families and the checks behind the
// private alerts a facilitator gets about low or diverging session ratings.
import { createHash } from "node:crypto";
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import type { Instrument, Item, LoadedFlows } from "../study/model.js";
import { TEXT_MAX_LENGTH } from "../domain/questionnaire/index.js";
import { ratingItems as ratingItemsOf } from "../domain/satisfaction.js";
import { enqueueJobs } from "../scheduler/jobs.js";
import { enqueueSessionClosed, ratingCheckJob, wakeOutbox } from "../scheduler/outbox.js";
import {
  createResponseSets,
  openTimepoint,
  responseSetKey,
  type Assignment,
} from "./assignments.js";
import {
  activeMembers,
  displayName,
  isoDay,
  localDay,
  parseDay,
  sessionNumbers,
} from "./groups.js";
import { DomainError } from "./participants.js";

export const sessionSlot = (n: number): string => `session:${n}`;
const DAY_MS = 86_400_000;

/** The session row for a group and number, created (status planned) on first use. */
export async function ensureSession(tx: Tx, groupId: number, number: number) {
  return tx.groupSession.upsert({
    where: { groupId_number: { groupId, number } },
    create: { groupId, number },
    update: {},
  });
}

/** The session a facilitator most likely wants to log: the first one not closed yet (else the last). */
export function defaultSessionNumber(
  flows: LoadedFlows,
  rows: readonly { number: number; status: string }[],
): number {
  const numbers = sessionNumbers(flows);
  const closed = new Set(rows.filter((r) => r.status === "closed").map((r) => r.number));
  return numbers.find((n) => !closed.has(n)) ?? numbers[numbers.length - 1]!;
}

export function lastSessionNumber(flows: LoadedFlows): number {
  const numbers = sessionNumbers(flows);
  return numbers[numbers.length - 1]!;
}

function observationInstrument(flows: LoadedFlows): Instrument | undefined {
  const id = flows.study.assignments.observation;
  return id ? flows.instruments.get(id) : undefined;
}

function reflectionInstrument(flows: LoadedFlows): Instrument | undefined {
  const id = flows.study.assignments.afterSession.facilitator[0];
  return id ? flows.instruments.get(id) : undefined;
}

export function isObservationSet(
  flows: LoadedFlows,
  rs: { instrumentId: string; respondent: string; participantId: number | null },
): boolean {
  return (
    rs.respondent === "facilitator" &&
    rs.participantId !== null &&
    rs.instrumentId === flows.study.assignments.observation
  );
}

export function isReflectionSet(
  flows: LoadedFlows,
  rs: { instrumentId: string; respondent: string; participantId: number | null },
): boolean {
  return (
    rs.respondent === "facilitator" &&
    rs.participantId === null &&
    flows.study.assignments.afterSession.facilitator.includes(rs.instrumentId)
  );
}

/** The Observation dimension an item is stored under: its subscale (the study dimension), else its id. */
export function observationDimension(item: Item): string {
  return item.subscale ?? item.id;
}

// ---------------------------------------------------------------------------------------------
// Attendance

export interface AttendanceResult {
  present: number[];
  absent: number[];
  newlyAbsent: number[];
  observationSets: number;
}

/**
 * Records who attended (every listed member gets a row, present or absent) and prepares the log:
 * one observation set per attending consented child and the facilitator's reflection set. On an
 * amendment, children no longer present lose their Observation rows (the audit keeps them).
 */
export async function recordAttendance(
  tx: Tx,
  flows: LoadedFlows,
  input: { sessionId: number; present: number[]; accountId: number; heldOn: Date; now: Date },
): Promise<AttendanceResult> {
  const actor: AuditActor = { kind: "account", accountId: input.accountId };
  const session = await tx.groupSession.findUniqueOrThrow({
    where: { id: input.sessionId },
    include: { group: true },
  });
  const members = await activeMembers(tx, session.groupId);
  const previous = await tx.attendance.findMany({ where: { sessionId: session.id } });
  const listed = new Map(members.map((m) => [m.id, m]));
  // A child marked earlier who has since left the study keeps their row; they are not re-listed.
  for (const id of input.present)
    if (!listed.has(id))
      throw new DomainError(`participant ${id} is not an active member of the group`);
  const presentSet = new Set(input.present);
  for (const m of members) {
    await tx.attendance.upsert({
      where: { sessionId_participantId: { sessionId: session.id, participantId: m.id } },
      create: { sessionId: session.id, participantId: m.id, present: presentSet.has(m.id) },
      update: { present: presentSet.has(m.id) },
    });
  }
  const wasPresent = new Set(previous.filter((a) => a.present).map((a) => a.participantId));
  const newlyAbsent = [...wasPresent].filter((id) => listed.has(id) && !presentSet.has(id));
  await tx.groupSession.update({
    where: { id: session.id },
    data: {
      status: "logging",
      heldOn: session.heldOn ?? input.heldOn,
      facilitatorAccountId: session.facilitatorAccountId ?? input.accountId,
    },
  });

  let observationSets = 0;
  const obs = observationInstrument(flows);
  const slot = sessionSlot(session.number);
  for (const m of members) {
    if (!presentSet.has(m.id) || m.status !== "consented" || !obs) continue;
    observationSets += await createResponseSets(
      tx,
      m.id,
      [
        {
          slot,
          timepoint: null,
          sessionId: session.id,
          instrument: obs,
          respondent: "facilitator",
        },
      ],
      actor,
    );
    // A child skipped earlier and marked present again is observed afresh.
  }
  for (const id of newlyAbsent) {
    const rows = await tx.observation.findMany({
      where: { sessionId: session.id, participantId: id },
    });
    if (rows.length === 0) continue;
    await tx.observation.deleteMany({ where: { sessionId: session.id, participantId: id } });
    await audit(tx, {
      actor,
      action: "observation.remove",
      entity: "GroupSession",
      entityId: session.id,
      at: input.now,
      data: {
        participant: listed.get(id)?.code,
        reason: "marked absent",
        previous: rows.map((r) => ({
          dimension: r.dimension,
          rating: r.rating,
          skipped: r.skipped,
        })),
      },
    });
  }
  await ensureReflectionSet(tx, flows, session.id, session.number, actor);

  const code = (id: number) => listed.get(id)?.code ?? String(id);
  await audit(tx, {
    actor,
    action: "session.attendance",
    entity: "GroupSession",
    entityId: session.id,
    at: input.now,
    data: {
      group: session.group.name,
      number: session.number,
      heldOn: isoDay(session.heldOn ?? input.heldOn),
      present: members.filter((m) => presentSet.has(m.id)).map((m) => m.code),
      absent: members.filter((m) => !presentSet.has(m.id)).map((m) => m.code),
      ...(previous.length ? { previousPresent: [...wasPresent].map(code) } : {}),
    },
  });
  return {
    present: members.filter((m) => presentSet.has(m.id)).map((m) => m.id),
    absent: members.filter((m) => !presentSet.has(m.id)).map((m) => m.id),
    newlyAbsent,
    observationSets,
  };
}

async function ensureReflectionSet(
  tx: Tx,
  flows: LoadedFlows,
  sessionId: number,
  number: number,
  actor: AuditActor,
) {
  const ins = reflectionInstrument(flows);
  if (!ins) return null;
  const key = responseSetKey({
    participantId: null,
    sessionId,
    slot: sessionSlot(number),
    instrumentId: ins.id,
    respondent: "facilitator",
  });
  const existing = await tx.responseSet.findUnique({ where: { key } });
  if (existing) return existing;
  const rs = await tx.responseSet.create({
    data: {
      key,
      participantId: null,
      sessionId,
      slot: sessionSlot(number),
      timepoint: null,
      instrumentId: ins.id,
      instrumentVersion: ins.version,
      instrumentHash: ins.hash,
      respondent: "facilitator",
      status: "pending",
    },
  });
  await audit(tx, {
    actor,
    action: "questionnaire.assign",
    entity: "ResponseSet",
    entityId: rs.id,
    data: { slot: rs.slot, instrument: ins.id, respondent: "facilitator" },
  });
  return rs;
}

/** The response sets the facilitator works through, in order: present children by code, then the reflection. */
export async function logQueue(tx: Tx, flows: LoadedFlows, sessionId: number) {
  const present = await tx.attendance.findMany({
    where: { sessionId, present: true },
    include: { participant: true },
  });
  present.sort((a, b) => a.participant.code.localeCompare(b.participant.code));
  const sets = await tx.responseSet.findMany({ where: { sessionId, respondent: "facilitator" } });
  const observations = present.flatMap((a) => {
    const rs = sets.find((x) => x.participantId === a.participantId && isObservationSet(flows, x));
    return rs ? [{ rs, participant: a.participant }] : [];
  });
  const reflection = sets.find((x) => isReflectionSet(flows, x)) ?? null;
  return { observations, reflection };
}

// ---------------------------------------------------------------------------------------------
// Observations and reflection

async function answerMap(tx: Tx, responseSetId: number) {
  const rows = await tx.answer.findMany({ where: { responseSetId } });
  return new Map(rows.map((r) => [r.itemId, r]));
}

/** One child's observation on one dimension in a session (one row, overwritten on change). */
async function writeObservation(
  tx: Tx,
  sessionId: number,
  participantId: number,
  row: { dimension: string; rating: number | null; note: string | null; skipped: boolean },
  now: Date,
): Promise<void> {
  const values = { rating: row.rating, note: row.note, skipped: row.skipped, at: now };
  await tx.observation.upsert({
    where: {
      sessionId_participantId_dimension: { sessionId, participantId, dimension: row.dimension },
    },
    create: { sessionId, participantId, dimension: row.dimension, ...values },
    update: values,
  });
}

/** Copies a completed observation set into Observation rows (one per item; idempotent). */
export async function syncObservation(
  tx: Tx,
  flows: LoadedFlows,
  responseSetId: number,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  const rs = await tx.responseSet.findUniqueOrThrow({
    where: { id: responseSetId },
    include: { participant: true },
  });
  const ins = flows.instruments.get(rs.instrumentId);
  if (!ins || rs.sessionId === null || rs.participantId === null || rs.status !== "complete")
    return;
  const answers = await answerMap(tx, rs.id);
  const rows: { dimension: string; rating: number | null; note: string | null }[] = [];
  for (const item of ins.items) {
    const a = answers.get(item.id);
    const rating =
      item.type !== "text" && a && !a.skipped && a.value !== null ? Math.round(a.value) : null;
    const note = item.type === "text" && a && !a.skipped ? a.text : null;
    rows.push({ dimension: observationDimension(item), rating, note });
  }
  const before = await tx.observation.findMany({
    where: { sessionId: rs.sessionId, participantId: rs.participantId },
  });
  const same =
    before.length === rows.length &&
    rows.every((r) =>
      before.some(
        (b) =>
          b.dimension === r.dimension && b.rating === r.rating && b.note === r.note && !b.skipped,
      ),
    );
  if (same) return;
  for (const r of rows)
    await writeObservation(tx, rs.sessionId, rs.participantId, { ...r, skipped: false }, now);
  await audit(tx, {
    actor,
    action: before.length ? "observation.update" : "observation.record",
    entity: "GroupSession",
    entityId: rs.sessionId,
    at: now,
    data: {
      participant: rs.participant?.code,
      responseSet: rs.id,
      ratings: Object.fromEntries(
        rows.filter((r) => r.rating !== null).map((r) => [r.dimension, r.rating]),
      ),
      note: rows.some((r) => r.note !== null),
      ...(before.length
        ? {
            previous: before.map((b) => ({
              dimension: b.dimension,
              rating: b.rating,
              skipped: b.skipped,
            })),
          }
        : {}),
    },
  });
}

/** "Skip this child": every dimension recorded as skipped; answers given so far stay with the set. */
export async function skipObservation(
  tx: Tx,
  flows: LoadedFlows,
  responseSetId: number,
  actor: AuditActor,
  now: Date,
): Promise<boolean> {
  const rs = await tx.responseSet.findUniqueOrThrow({
    where: { id: responseSetId },
    include: { participant: true },
  });
  const ins = flows.instruments.get(rs.instrumentId);
  if (
    !ins ||
    rs.sessionId === null ||
    rs.participantId === null ||
    rs.status === "complete" ||
    rs.status === "skipped"
  )
    return false;
  for (const dimension of new Set(ins.items.map(observationDimension)))
    await writeObservation(
      tx,
      rs.sessionId,
      rs.participantId,
      { dimension, rating: null, note: null, skipped: true },
      now,
    );
  await tx.responseSet.update({ where: { id: rs.id }, data: { status: "skipped" } });
  await audit(tx, {
    actor,
    action: "observation.skip",
    entity: "GroupSession",
    entityId: rs.sessionId,
    at: now,
    data: { participant: rs.participant?.code, responseSet: rs.id },
  });
  return true;
}

/** Reopens a skipped observation set so the child can be observed after all (during an amendment). */
export async function reopenObservation(
  tx: Tx,
  responseSetId: number,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  const rs = await tx.responseSet.findUniqueOrThrow({
    where: { id: responseSetId },
    include: { participant: true },
  });
  if (rs.status !== "skipped") return;
  await tx.responseSet.update({ where: { id: rs.id }, data: { status: "in_progress" } });
  await audit(tx, {
    actor,
    action: "observation.reopen",
    entity: "GroupSession",
    entityId: rs.sessionId,
    at: now,
    data: { participant: rs.participant?.code, responseSet: rs.id },
  });
}

export async function recordReflection(
  tx: Tx,
  responseSetId: number,
  accountId: number,
  now: Date,
): Promise<void> {
  const rs = await tx.responseSet.findUniqueOrThrow({ where: { id: responseSetId } });
  if (rs.sessionId === null || rs.status !== "complete") return;
  await tx.reflection.upsert({
    where: { responseSetId: rs.id },
    create: { sessionId: rs.sessionId, accountId, responseSetId: rs.id, at: now },
    update: {},
  });
}

/** Validates a corrected answer for an item; returns the value to store or null when invalid. */
export function correctionValue(
  item: Item,
  raw: number | string | null,
): number | string | null | undefined {
  if (raw === null) return item.required ? undefined : null;
  if (item.type === "choice")
    return typeof raw === "number" && item.options.some((o) => o.value === raw) ? raw : undefined;
  if (item.type === "number") {
    if (typeof raw !== "number" || !Number.isFinite(raw)) return undefined;
    if ((item.min !== null && raw < item.min) || (item.max !== null && raw > item.max))
      return undefined;
    return raw;
  }
  if (typeof raw !== "string") return undefined;
  const text = raw.trim();
  return text.length > 0 && text.length <= TEXT_MAX_LENGTH ? text : undefined;
}

/**
 * Corrects one answer of a completed facilitator set during an amendment, like the runner does:
 * the Answer row takes the new value and "answer.correct" keeps the previous one. Derived
 * Observation rows follow.
 */
export async function correctAnswer(
  tx: Tx,
  flows: LoadedFlows,
  input: {
    responseSetId: number;
    itemId: string;
    value: number | string | null;
    accountId: number;
    now: Date;
  },
): Promise<boolean> {
  const rs = await tx.responseSet.findUniqueOrThrow({ where: { id: input.responseSetId } });
  const ins = flows.instruments.get(rs.instrumentId);
  const item = ins?.items.find((i) => i.id === input.itemId);
  if (!ins || !item) return false;
  const value = correctionValue(item, input.value);
  if (value === undefined) return false;
  const previous = await tx.answer.findUnique({
    where: { responseSetId_itemId: { responseSetId: rs.id, itemId: item.id } },
  });
  const prevValue = previous
    ? previous.skipped
      ? null
      : (previous.value ?? previous.text)
    : undefined;
  if (previous && prevValue === value) return true;
  const data = {
    value: typeof value === "number" ? value : null,
    text: typeof value === "string" ? value : null,
    skipped: value === null,
    instrumentHash: ins.hash,
    respondent: rs.respondent,
    childAnswered: false,
    source: "telegram",
    accountId: input.accountId,
    answeredAt: input.now,
  };
  await tx.answer.upsert({
    where: { responseSetId_itemId: { responseSetId: rs.id, itemId: item.id } },
    create: { responseSetId: rs.id, itemId: item.id, ...data },
    update: data,
  });
  await audit(tx, {
    actor: { kind: "account", accountId: input.accountId },
    action: previous ? "answer.correct" : "answer.save",
    entity: "Answer",
    entityId: `${rs.id}:${item.id}`,
    at: input.now,
    data: {
      responseSet: rs.id,
      item: item.id,
      value,
      skipped: value === null,
      ...(previous ? { previous: prevValue } : {}),
    },
  });
  if (isObservationSet(flows, rs))
    await syncObservation(
      tx,
      flows,
      rs.id,
      { kind: "account", accountId: input.accountId },
      input.now,
    );
  return true;
}

// ---------------------------------------------------------------------------------------------
// Amendments and closing

/** Reopens a closed session for amendment: who, when and why are audited; the original stays. */
export async function beginAmendment(
  tx: Tx,
  input: { sessionId: number; accountId: number; reason: string; now: Date },
) {
  const session = await tx.groupSession.findUniqueOrThrow({
    where: { id: input.sessionId },
    include: { group: true },
  });
  if (session.closedAt === null) throw new DomainError("only a closed session can be amended");
  const updated = await tx.groupSession.update({
    where: { id: session.id },
    data: { status: "logging", amendments: { increment: 1 } },
  });
  await audit(tx, {
    actor: { kind: "account", accountId: input.accountId },
    action: "session.amend",
    entity: "GroupSession",
    entityId: session.id,
    at: input.now,
    data: {
      group: session.group.name,
      number: session.number,
      amendment: updated.amendments,
      who: input.accountId,
      when: input.now.toISOString(),
      why: input.reason,
    },
  });
  return updated;
}

export async function correctSessionDate(
  tx: Tx,
  input: { sessionId: number; heldOn: Date; accountId: number; now: Date },
): Promise<void> {
  const session = await tx.groupSession.findUniqueOrThrow({ where: { id: input.sessionId } });
  if (isoDay(session.heldOn) === isoDay(input.heldOn)) return;
  await tx.groupSession.update({ where: { id: session.id }, data: { heldOn: input.heldOn } });
  await audit(tx, {
    actor: { kind: "account", accountId: input.accountId },
    action: "session.correct-date",
    entity: "GroupSession",
    entityId: session.id,
    at: input.now,
    data: { heldOn: isoDay(input.heldOn), previous: isoDay(session.heldOn) },
  });
}

export interface CloseResult {
  sessionId: number;
  groupId: number;
  number: number;
  /** Participants whose families got new questionnaires (and are asked through the outbox), with why. */
  prompt: { participantId: number; reason: "session" | "group-end" }[];
  /** Parents to be told and asked: the outbox jobs this close enqueued (one per parent chat). */
  asked: number;
  satisfactionSets: number;
  removedPending: number;
  /** The unstarted sets withdrawn again (a question still showing buttons loses them through the outbox). */
  removedSetIds: number[];
  groupEnded: boolean;
  /** Timepoints anchored on the last session that open later than today (for the scheduler). */
  opensLater: { timepoint: string; on: string }[];
}

function assignmentsFor(
  flows: LoadedFlows,
  lists: { parent: string[]; child: string[] },
  slot: string,
  sessionId: number | null,
): Assignment[] {
  const out: Assignment[] = [];
  for (const respondent of ["parent", "child"] as const) {
    for (const id of lists[respondent]) {
      const instrument = flows.instruments.get(id);
      if (instrument) out.push({ slot, timepoint: null, sessionId, instrument, respondent });
    }
  }
  return out;
}

/**
 * Closes (or re-closes after an amendment) a session: after-session questionnaires for the
 * families of attending, consented children (never absent or withdrawn ones; unstarted ones of
 * children now marked absent are withdrawn again), and after the last session the end-of-group
 * survey and the timepoints anchored on it. Runs inside the caller's transaction, which also
 * commits the outbox jobs that tell and ask the families (nothing is sent from here): a close that
 * fails enqueues nothing, and closing again asks nobody twice.
 */
export async function closeSession(
  tx: Tx,
  flows: LoadedFlows,
  input: { sessionId: number; accountId: number; now: Date; timeZone: string },
): Promise<CloseResult> {
  const actor: AuditActor = { kind: "account", accountId: input.accountId };
  const session = await tx.groupSession.findUniqueOrThrow({
    where: { id: input.sessionId },
    include: { group: true },
  });
  const attendance = await tx.attendance.findMany({
    where: { sessionId: session.id },
    include: { participant: true },
  });
  if (attendance.length === 0) throw new DomainError("attendance has not been taken");
  const heldOn = session.heldOn ?? parseDay(localDay(input.now, input.timeZone))!;
  const slot = sessionSlot(session.number);

  // Derived rows are re-derived here too, so a crash between a set's completion and its copy heals.
  const { observations, reflection } = await logQueue(tx, flows, session.id);
  for (const o of observations)
    if (o.rs.status === "complete") await syncObservation(tx, flows, o.rs.id, actor, input.now);
  if (reflection?.status === "complete")
    await recordReflection(tx, reflection.id, reflection.accountId ?? input.accountId, input.now);

  const result: CloseResult = {
    sessionId: session.id,
    groupId: session.groupId,
    number: session.number,
    prompt: [],
    asked: 0,
    satisfactionSets: 0,
    removedPending: 0,
    removedSetIds: [],
    groupEnded: false,
    opensLater: [],
  };
  const after = assignmentsFor(flows, flows.study.assignments.afterSession, slot, session.id);
  for (const a of attendance) {
    if (!a.present || a.participant.status !== "consented") continue;
    const n = await createResponseSets(tx, a.participantId, after, actor);
    result.satisfactionSets += n;
    if (n > 0) result.prompt.push({ participantId: a.participantId, reason: "session" });
  }
  const absentIds = attendance.filter((a) => !a.present).map((a) => a.participantId);
  const released: { accountId: number; messageId: number; responseSetId: number }[] = [];
  if (absentIds.length) {
    const unstarted = await tx.responseSet.findMany({
      where: {
        sessionId: session.id,
        participantId: { in: absentIds },
        respondent: { in: ["parent", "child"] },
        status: "pending",
        answers: { none: {} },
      },
      include: { participant: true },
    });
    for (const rs of unstarted) {
      await tx.responseSet.delete({ where: { id: rs.id } });
      await audit(tx, {
        actor,
        action: "questionnaire.unassign",
        entity: "ResponseSet",
        entityId: rs.id,
        at: input.now,
        data: {
          participant: rs.participant?.code,
          slot,
          instrument: rs.instrumentId,
          reason: "marked absent",
        },
      });
    }
    result.removedPending = unstarted.length;
    result.removedSetIds = unstarted.map((rs) => rs.id);
    // A family's conversation about a withdrawn set ends now; its next message moves on.
    const convs = result.removedSetIds.length
      ? await tx.conversationState.findMany({
          where: { kind: "questionnaire", responseSetId: { in: result.removedSetIds } },
          orderBy: { id: "asc" },
        })
      : [];
    for (const c of convs)
      if (c.messageId !== null && c.responseSetId !== null)
        released.push({
          accountId: c.accountId,
          messageId: c.messageId,
          responseSetId: c.responseSetId,
        });
    if (convs.length)
      await tx.conversationState.deleteMany({ where: { id: { in: convs.map((c) => c.id) } } });
  }

  await tx.groupSession.update({
    where: { id: session.id },
    data: { status: "closed", closedAt: session.closedAt ?? input.now, heldOn },
  });
  await audit(tx, {
    actor,
    action: "session.close",
    entity: "GroupSession",
    entityId: session.id,
    at: input.now,
    data: {
      group: session.group.name,
      number: session.number,
      heldOn: isoDay(heldOn),
      present: attendance
        .filter((a) => a.present)
        .map((a) => a.participant.code)
        .sort(),
      amendment: session.amendments,
      questionnaires: result.satisfactionSets,
    },
  });

  if (session.number === lastSessionNumber(flows)) {
    result.groupEnded = true;
    await endGroup(tx, flows, session.groupId, heldOn, actor, input, result);
  }
  result.asked = await enqueueSessionClosed(tx, {
    sessionId: session.id,
    number: session.number,
    amendment: session.amendments,
    now: input.now,
    prompt: result.prompt,
    released,
  });
  return result;
}

/** After the last session: the end-of-group survey for families who attended at least once, and the timepoints anchored on it. */
async function endGroup(
  tx: Tx,
  flows: LoadedFlows,
  groupId: number,
  lastHeld: Date,
  actor: AuditActor,
  input: { now: Date; timeZone: string },
  result: CloseResult,
) {
  const attended = await tx.attendance.findMany({
    where: { present: true, session: { groupId }, participant: { status: "consented" } },
    select: { participantId: true },
    distinct: ["participantId"],
  });
  const groupEnd = assignmentsFor(flows, flows.study.assignments.groupEnd, "group-end", null);
  const promptIds = new Set(result.prompt.map((p) => p.participantId));
  for (const { participantId } of attended) {
    const n = await createResponseSets(tx, participantId, groupEnd, actor);
    if (n > 0 && !promptIds.has(participantId)) {
      result.prompt.push({ participantId, reason: "group-end" });
      promptIds.add(participantId);
    }
  }
  const today = parseDay(localDay(input.now, input.timeZone))!;
  const members = await tx.participant.findMany({
    where: { groupId, status: "consented" },
    select: { id: true },
  });
  for (const tp of flows.study.timepoints) {
    if (tp.window.anchor !== "last-session") continue;
    const opens = new Date(lastHeld.getTime() + tp.window.openDays * DAY_MS);
    if (opens.getTime() > today.getTime()) {
      result.opensLater.push({ timepoint: tp.id, on: isoDay(opens)! });
      continue;
    }
    for (const m of members) {
      const n = await openTimepoint(tx, flows, m.id, tp.id, actor);
      if (n > 0 && !promptIds.has(m.id)) {
        result.prompt.push({ participantId: m.id, reason: "group-end" });
        promptIds.add(m.id);
      }
    }
  }
  await audit(tx, {
    actor,
    action: "group.end",
    entity: "Group",
    entityId: groupId,
    at: input.now,
    data: {
      lastSession: isoDay(lastHeld),
      surveyed: attended.length,
      opensLater: result.opensLater,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Session ratings

export {
  checkRating,
  divergence,
  type RatingCheck,
  type Thresholds,
} from "../domain/satisfaction.js";

/** The numeric items an after-session rating is totalled over; null when the instrument is not 0–10 items (the format the thresholds are written for). */
export function ratingItems(instrument: Instrument): Item[] | null {
  return ratingItemsOf(instrument.items);
}

/** A family's after-session rating (parent or child instrument of the study's afterSession). */
export function isMemberRating(
  flows: LoadedFlows,
  rs: { instrumentId: string; respondent: string },
): boolean {
  const after = flows.study.assignments.afterSession;
  return (
    (rs.respondent === "parent" && after.parent.includes(rs.instrumentId)) ||
    (rs.respondent === "child" && after.child.includes(rs.instrumentId))
  );
}

/** A child as one facilitator knows them: code, and their own nickname if they set one (plain text). */
export async function childName(
  db: Tx,
  accountId: number,
  participantId: number,
  code: string,
): Promise<string> {
  const nick = await db.nickname.findUnique({
    where: { accountId_participantId: { accountId, participantId } },
  });
  return displayName(code, nick?.nickname);
}

/**
 * Completion listener: a family's session rating or the facilitator's reflection is to be checked
 * for the facilitators' alerts. The check is an outbox job (notify/outbox-handlers.ts), claimed
 * at once by this process's scheduler; the planner re-enqueues it if the process stopped between
 * the answer's commit and this.
 */
export async function onResponseSetCompleted(
  s: { db: Db; flows: LoadedFlows; now(): Date },
  _account: unknown,
  responseSetId: number,
): Promise<void> {
  const rs = await s.db.responseSet.findUnique({
    where: { id: responseSetId },
    select: {
      id: true,
      sessionId: true,
      instrumentId: true,
      respondent: true,
      participantId: true,
    },
  });
  if (!rs || rs.sessionId === null) return;
  if (!isMemberRating(s.flows, rs) && !isReflectionSet(s.flows, rs)) return;
  await enqueueJobs(s.db, [ratingCheckJob(rs.id, s.now())]);
  wakeOutbox(s.db);
}

/** A short fingerprint of a free text for the audit trail (the text itself stays in its table). */
export function textDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
