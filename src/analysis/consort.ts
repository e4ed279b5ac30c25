// The CONSORT-style participant flow (JSON contract: README "The participant flow"), counted from
// the database: Participant (arm, status), Invite (parent invites), Consent, Attendance and
// ResponseSet, plus the scores the effect report analyses. Every box of the diagram is one of
// these numbers, and they add up:
//   registered = awaitingEnrolment + enrolled
//   enrolled   = awaitingConsent + declined.total + withdrawnBeforeConsent + included
//   included   = Σ arms[a].allocated
// Definitions:
// - registered: every participant row; per arm as `circle progress` counts them (no arm = "none");
// - invited: participants with at least one parent invite (paper participants added by
//   `circle import` have none: notInvited); `invites` counts the parent invites, `used` the used ones;
// - enrolled: status other than "invited" (the parent opened the link, or the family took part on paper);
// - declined: status "declined", split by the Consent rows into consent and assent refusals;
// - included: status "consented", or "withdrawn" after taking part (a Telegram family that had
//   agreed to both consent and assent, or a paper family); allocated = included per arm;
// - withdrawn (per arm): included participants who withdrew; what was kept follows the study's
//   withdrawal policy (keep: their answers stay and are counted below; delete: they are gone);
// - attended: present at ≥ 1 session / at every one of the protocol's sessions; null for an arm
//   none of whose members has an attendance record (the control and no-arm participants have no sessions);
// - timepoints[tp]: completedAll = every questionnaire the study assigns at tp to the arm is
//   complete; completedAny = at least one complete; questionnaires = complete sets per
//   questionnaire (all arms together these equal `circle progress`'s completion counts);
//   null counts for an arm with nothing assigned at tp;
// - analysed: per scored instrument, children with a total at the first timepoint (baseline,
//   the needs assessment's n), and with totals at both of the effect report's timepoints
//   (change: the n of its change scores and, summed over the two arms, of its ANCOVA).
import type { Db } from "../db/client.js";
import type { Instrument, LoadedFlows } from "../study/model.js";
import { timepointAssignments } from "../usecases/assignments.js";
import { answersRecord, loadInstrumentData } from "./dataset.js";
import { scoreResponseSet } from "./scoring.js";

export type ArmKey = "experimental" | "control" | "none";
export const ARM_KEYS: readonly ArmKey[] = ["experimental", "control", "none"];

export interface TimepointFlow {
  /** Questionnaires the study assigns to this arm at the timepoint. */
  assigned: number;
  completedAll: number | null;
  completedAny: number | null;
  questionnaires: { instrument: string; respondent: string; complete: number }[];
}

export interface AnalysedFlow {
  instrument: string;
  /** Children with a total score at the first timepoint. */
  baseline: number;
  /** Children with totals at both effect-report timepoints; null for the no-arm participants. */
  change: number | null;
}

export interface ArmFlow {
  registered: number;
  allocated: number;
  attended: { any: number; all: number } | null;
  timepoints: Record<string, TimepointFlow>;
  withdrawn: number;
  analysed: AnalysedFlow[];
}

export interface ConsortFlow {
  generatedAt: string;
  withdrawalPolicy: "keep" | "delete";
  /** Sessions in the protocol (attended.all means present at all of them). */
  sessions: number;
  timepoints: string[];
  registered: { total: number; experimental: number; control: number; none: number };
  invited: { participants: number; invites: number; used: number };
  notInvited: number;
  awaitingEnrolment: number;
  enrolled: number;
  awaitingConsent: number;
  declined: { total: number; consent: number; assent: number };
  withdrawnBeforeConsent: number;
  included: number;
  arms: Record<ArmKey, ArmFlow>;
}

export const armKey = (arm: string | null): ArmKey =>
  arm === "experimental" || arm === "control" ? arm : "none";

/** Scored instruments the study asks at any timepoint (the outcomes of the flow's last row). */
export function outcomeInstruments(flows: LoadedFlows): Instrument[] {
  const asked = new Set(
    flows.study.assignments.timepoints.flatMap((a) => [...a.parent, ...a.child]),
  );
  return flows.instrumentList.filter(
    (i) => asked.has(i.id) && i.subscales.length > 0 && i.respondent !== "facilitator",
  );
}

export async function buildConsort(
  db: Db,
  flows: LoadedFlows,
  now = new Date(),
): Promise<ConsortFlow> {
  const timepoints = flows.study.timepoints.map((t) => t.id);
  const sessionCount = flows.study.sessions.length;
  const participants = await db.participant.findMany({
    select: { id: true, arm: true, status: true },
    orderBy: { id: "asc" },
  });
  const invites = await db.invite.findMany({
    where: { role: "parent", participantId: { not: null } },
    select: { participantId: true, usedAt: true },
  });
  const consents = await db.consent.findMany({
    select: { participantId: true, kind: true, decision: true },
    orderBy: [{ at: "asc" }, { id: "asc" }],
  });
  const attendance = await db.attendance.findMany({
    select: { participantId: true, present: true, session: { select: { number: true } } },
  });
  const sets = await db.responseSet.findMany({
    where: { participantId: { not: null }, slot: { in: timepoints } },
    select: { participantId: true, slot: true, instrumentId: true, respondent: true, status: true },
  });

  const invitedIds = new Set(invites.map((i) => i.participantId!));
  const usedInvite = new Set(invites.filter((i) => i.usedAt !== null).map((i) => i.participantId!));
  // The latest decision per participant and kind.
  const decision = new Map<string, string>();
  for (const c of consents) decision.set(`${c.participantId}|${c.kind}`, c.decision);
  const agreedBoth = (id: number) =>
    decision.get(`${id}|consent`) === "agree" && decision.get(`${id}|assent`) === "agree";

  const isIncluded = (p: { id: number; status: string }) =>
    p.status === "consented" ||
    (p.status === "withdrawn" && (agreedBoth(p.id) || !usedInvite.has(p.id)));

  const byArm = (arm: ArmKey) => participants.filter((p) => armKey(p.arm) === arm);
  const declined = participants.filter((p) => p.status === "declined");
  const declinedAssent = declined.filter(
    (p) =>
      decision.get(`${p.id}|consent`) === "agree" && decision.get(`${p.id}|assent`) === "decline",
  ).length;

  // Sessions each participant was present at (by session number, over their groups).
  const present = new Map<number, Set<number>>();
  const hasAttendanceRow = new Set<number>();
  for (const a of attendance) {
    hasAttendanceRow.add(a.participantId);
    if (!a.present) continue;
    const s = present.get(a.participantId) ?? new Set<number>();
    s.add(a.session.number);
    present.set(a.participantId, s);
  }

  const setsOf = new Map<number, typeof sets>();
  for (const s of sets) {
    const list = setsOf.get(s.participantId!) ?? [];
    list.push(s);
    setsOf.set(s.participantId!, list);
  }

  const analysed = await analysedCounts(db, flows);

  const armFlow = (arm: ArmKey): ArmFlow => {
    const members = byArm(arm);
    const included = members.filter(isIncluded);
    const tpFlows: Record<string, TimepointFlow> = {};
    for (const tp of timepoints) {
      const assigned = timepointAssignments(flows, tp, arm === "none" ? null : arm);
      const counts = new Map<
        string,
        { instrument: string; respondent: string; complete: number }
      >();
      for (const a of assigned)
        counts.set(`${a.instrument.id}|${a.respondent}`, {
          instrument: a.instrument.id,
          respondent: a.respondent,
          complete: 0,
        });
      let all = 0;
      let any = 0;
      for (const p of members) {
        const own = (setsOf.get(p.id) ?? []).filter((s) => s.slot === tp);
        const complete = new Set(
          own
            .filter((s) => s.status === "complete")
            .map((s) => `${s.instrumentId}|${s.respondent}`),
        );
        for (const key of complete) {
          const [instrument, respondent] = key.split("|") as [string, string];
          const c = counts.get(key) ?? { instrument, respondent, complete: 0 };
          c.complete++;
          counts.set(key, c);
        }
        if (assigned.length === 0) continue;
        const done = assigned.filter((a) => complete.has(`${a.instrument.id}|${a.respondent}`));
        if (done.length === assigned.length) all++;
        if (done.length > 0) any++;
      }
      tpFlows[tp] = {
        assigned: assigned.length,
        completedAll: assigned.length === 0 ? null : all,
        completedAny: assigned.length === 0 ? null : any,
        questionnaires: [...counts.values()],
      };
    }
    const withAttendance = members.filter((p) => hasAttendanceRow.has(p.id));
    return {
      registered: members.length,
      allocated: included.length,
      attended:
        arm === "none" || withAttendance.length === 0
          ? null
          : {
              any: members.filter((p) => (present.get(p.id)?.size ?? 0) > 0).length,
              all: members.filter((p) => (present.get(p.id)?.size ?? 0) >= sessionCount).length,
            },
      timepoints: tpFlows,
      withdrawn: included.filter((p) => p.status === "withdrawn").length,
      analysed: analysed.map((a) => ({
        instrument: a.instrument,
        baseline: a.baseline[arm],
        change: arm === "none" || a.change === null ? null : a.change[arm],
      })),
    };
  };

  const count = (status: string) => participants.filter((p) => p.status === status).length;
  const withdrawnBefore = participants.filter(
    (p) => p.status === "withdrawn" && !isIncluded(p),
  ).length;
  return {
    generatedAt: now.toISOString(),
    withdrawalPolicy: flows.study.withdrawal.data,
    sessions: sessionCount,
    timepoints,
    registered: {
      total: participants.length,
      experimental: byArm("experimental").length,
      control: byArm("control").length,
      none: byArm("none").length,
    },
    invited: {
      participants: invitedIds.size,
      invites: invites.length,
      used: invites.filter((i) => i.usedAt !== null).length,
    },
    notInvited: participants.filter((p) => !invitedIds.has(p.id)).length,
    awaitingEnrolment: count("invited"),
    enrolled: participants.length - count("invited"),
    awaitingConsent: count("enrolled"),
    declined: {
      total: declined.length,
      consent: declined.length - declinedAssent,
      assent: declinedAssent,
    },
    withdrawnBeforeConsent: withdrawnBefore,
    included: participants.filter(isIncluded).length,
    arms: {
      experimental: armFlow("experimental"),
      control: armFlow("control"),
      none: armFlow("none"),
    },
  };
}

interface AnalysedCount {
  instrument: string;
  baseline: Record<ArmKey, number>;
  /** Null when the study has fewer than two timepoints (no effect report). */
  change: Record<"experimental" | "control", number> | null;
}

/**
 * Who enters the analyses, scored with the effect report's own loader and rules: a total at the
 * first timepoint (baseline), and totals at both of the effect report's two timepoints (change,
 * ANCOVA). The effect report takes the study's first two timepoints.
 */
async function analysedCounts(db: Db, flows: LoadedFlows): Promise<AnalysedCount[]> {
  const [pre, post] = flows.study.timepoints.map((t) => t.id);
  if (!pre) return [];
  const out: AnalysedCount[] = [];
  for (const instrument of outcomeInstruments(flows)) {
    const data = await loadInstrumentData(db, instrument, post ? [pre, post] : [pre]);
    const baseline: Record<ArmKey, number> = { experimental: 0, control: 0, none: 0 };
    const change = { experimental: 0, control: 0 };
    const total = (values: Float64Array | undefined) =>
      values ? scoreResponseSet(instrument, answersRecord(instrument, values)).total : null;
    for (const p of data) {
      const a = total(p.answers.get(pre));
      const b = post ? total(p.answers.get(post)) : null;
      const arm = armKey(p.arm);
      if (a !== null) baseline[arm]++;
      if (a !== null && b !== null && arm !== "none") change[arm]++;
    }
    out.push({ instrument: instrument.id, baseline, change: post ? change : null });
  }
  return out;
}
