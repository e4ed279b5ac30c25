// Groups, their facilitators and their session calendar. Shared by the CLI (`circle group`,
// `circle account list|alerts`, `circle session plan`) and the facilitator's bot features.
// Accounts are named by their internal id; Telegram ids never leave the Account table.
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import type { LoadedFlows } from "../study/model.js";
import { DomainError } from "./participants.js";

export const GROUP_ARMS = ["experimental", "control", "none"] as const;
export type GroupArm = (typeof GROUP_ARMS)[number];

/** Participants who may be listed for attendance: in the group and not out of the study. */
export const ACTIVE_MEMBER_STATUSES = ["invited", "enrolled", "consented"];

/** Finds a group by name, or by numeric id when no group has that name. */
export async function findGroup(db: Tx, ref: string) {
  const byName = await db.group.findUnique({ where: { name: ref } });
  if (byName) return byName;
  if (/^\d{1,9}$/.test(ref)) {
    const byId = await db.group.findUnique({ where: { id: Number(ref) } });
    if (byId) return byId;
  }
  throw new DomainError(`unknown group "${ref}"`);
}

export async function createGroup(
  db: Db,
  input: { name: string; arm?: GroupArm | undefined },
  actor: AuditActor,
) {
  const name = input.name.trim();
  if (!/^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,39}$/u.test(name)) {
    throw new DomainError(
      `group name "${input.name}" must be 1–40 letters, digits, spaces, ".", "_" or "-"`,
    );
  }
  const arm = input.arm && input.arm !== "none" ? input.arm : null;
  return db.$transaction(async (tx) => {
    if (await tx.group.findUnique({ where: { name } }))
      throw new DomainError(`group "${name}" already exists`);
    const group = await tx.group.create({ data: { name, arm } });
    await audit(tx, {
      actor,
      action: "group.create",
      entity: "Group",
      entityId: group.id,
      data: { name, arm },
    });
    return group;
  });
}

/** Assigns a facilitator account to a group (idempotent; audited only when it changes something). */
export async function assignFacilitator(
  db: Db,
  groupRef: string,
  accountId: number,
  actor: AuditActor,
) {
  return db.$transaction(async (tx) => {
    const group = await findGroup(tx, groupRef);
    const account = await tx.account.findUnique({ where: { id: accountId } });
    if (!account) throw new DomainError(`unknown account ${accountId}`);
    if (account.role !== "facilitator")
      throw new DomainError(`account ${accountId} is a ${account.role}, not a facilitator`);
    if (!account.active) throw new DomainError(`account ${accountId} is inactive`);
    const existing = await tx.groupFacilitator.findUnique({
      where: { groupId_accountId: { groupId: group.id, accountId } },
    });
    if (existing) return { group, accountId, changed: false };
    await tx.groupFacilitator.create({ data: { groupId: group.id, accountId } });
    await audit(tx, {
      actor,
      action: "group.assign-facilitator",
      entity: "Group",
      entityId: group.id,
      data: { account: accountId, via: "cli" },
    });
    return { group, accountId, changed: true };
  });
}

export interface GroupSummary {
  id: number;
  name: string;
  arm: string | null;
  participants: string[];
  facilitators: number[];
  sessions: {
    number: number;
    status: string;
    plannedOn: string | null;
    heldOn: string | null;
    amendments: number;
  }[];
}

export async function listGroups(db: Tx): Promise<GroupSummary[]> {
  const groups = await db.group.findMany({
    orderBy: { name: "asc" },
    include: {
      participants: { select: { code: true }, orderBy: { code: "asc" } },
      facilitators: { select: { accountId: true }, orderBy: { accountId: "asc" } },
      sessions: { orderBy: { number: "asc" } },
    },
  });
  return groups.map((g) => ({
    id: g.id,
    name: g.name,
    arm: g.arm,
    participants: g.participants.map((p) => p.code),
    facilitators: g.facilitators.map((f) => f.accountId),
    sessions: g.sessions.map((s) => ({
      number: s.number,
      status: s.status,
      plannedOn: isoDay(s.plannedOn),
      heldOn: isoDay(s.heldOn),
      amendments: s.amendments,
    })),
  }));
}

export interface AccountSummary {
  id: number;
  role: string;
  locale: string | null;
  active: boolean;
  groups: string[];
  participant: string | null;
}

/** Accounts by internal id: role, language, groups and participant code; never Telegram ids. */
export async function listAccounts(db: Tx): Promise<AccountSummary[]> {
  const accounts = await db.account.findMany({
    orderBy: { id: "asc" },
    select: {
      id: true,
      role: true,
      locale: true,
      active: true,
      participant: { select: { code: true } },
      groups: { select: { group: { select: { name: true } } } },
    },
  });
  return accounts.map((a) => ({
    id: a.id,
    role: a.role,
    locale: a.locale,
    active: a.active,
    groups: a.groups.map((g) => g.group.name).sort(),
    participant: a.participant?.code ?? null,
  }));
}

/** Opts a coordinator (admin) account in or out of protocol-deviation alerts (audited). */
export async function setProtocolAlerts(
  db: Db,
  accountId: number,
  on: boolean,
  actor: AuditActor,
): Promise<void> {
  await db.$transaction(async (tx) => {
    const account = await tx.account.findUnique({ where: { id: accountId } });
    if (!account) throw new DomainError(`no account ${accountId}`);
    if (account.role !== "admin")
      throw new DomainError(
        `account ${accountId} is a ${account.role}; protocol alerts go to coordinators (admin accounts)`,
      );
    await tx.account.update({ where: { id: accountId }, data: { alertsOptIn: on } });
    await audit(tx, {
      actor,
      action: "account.alerts",
      entity: "Account",
      entityId: accountId,
      data: { alertsOptIn: on },
    });
  });
}

/** Parses a calendar day "YYYY-MM-DD" into UTC midnight; null when it is not a real date. */
export function parseDay(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) &&
    d.getUTCMonth() === Number(m[2]) - 1 &&
    d.getUTCDate() === Number(m[3])
    ? d
    : null;
}

export function isoDay(d: Date | null | undefined): string | null {
  return d ? d.toISOString().slice(0, 10) : null;
}

/** The calendar day of an instant in a time zone (the study's local day), as "YYYY-MM-DD". */
export function localDay(at: Date, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    }).format(at);
  } catch {
    return at.toISOString().slice(0, 10);
  }
}

export function sessionNumbers(flows: LoadedFlows): number[] {
  return flows.study.sessions.map((s) => s.number).sort((a, b) => a - b);
}

/** Sets (or moves) a session's planned date; the scheduler reads it for reminders and windows. */
export async function planSession(
  db: Db,
  flows: LoadedFlows,
  input: { group: string; number: number; date: string },
  actor: AuditActor,
) {
  if (!sessionNumbers(flows).includes(input.number)) {
    throw new DomainError(
      `session ${input.number} is not in the study (sessions ${sessionNumbers(flows).join(", ")})`,
    );
  }
  const day = parseDay(input.date);
  if (!day) throw new DomainError(`"${input.date}" is not a date (YYYY-MM-DD)`);
  return db.$transaction(async (tx) => {
    const group = await findGroup(tx, input.group);
    const before = await tx.groupSession.findUnique({
      where: { groupId_number: { groupId: group.id, number: input.number } },
    });
    const session = await tx.groupSession.upsert({
      where: { groupId_number: { groupId: group.id, number: input.number } },
      create: { groupId: group.id, number: input.number, plannedOn: day },
      update: { plannedOn: day },
    });
    await audit(tx, {
      actor,
      action: "session.plan",
      entity: "GroupSession",
      entityId: session.id,
      data: {
        group: group.name,
        number: input.number,
        plannedOn: isoDay(day),
        previous: isoDay(before?.plannedOn),
      },
    });
    return { group, session };
  });
}

/** The groups a facilitator account leads. */
export async function facilitatorGroups(db: Tx, accountId: number) {
  const rows = await db.groupFacilitator.findMany({
    where: { accountId },
    include: { group: true },
  });
  return rows.map((r) => r.group).sort((a, b) => a.name.localeCompare(b.name));
}

export async function leadsGroup(db: Tx, accountId: number, groupId: number): Promise<boolean> {
  return (
    (await db.groupFacilitator.findUnique({
      where: { groupId_accountId: { groupId, accountId } },
    })) !== null
  );
}

/** Members that can be marked present, by code. */
export async function activeMembers(db: Tx, groupId: number) {
  return db.participant.findMany({
    where: { groupId, status: { in: ACTIVE_MEMBER_STATUSES } },
    orderBy: { code: "asc" },
  });
}

/** One facilitator's nicknames for children (shown only in that facilitator's own chat). */
export async function nicknamesOf(db: Tx, accountId: number): Promise<Map<number, string>> {
  const rows = await db.nickname.findMany({ where: { accountId } });
  return new Map(rows.map((r) => [r.participantId, r.nickname]));
}

/** "LK-7Q3M · Mia" when the facilitator set a nickname, else the code (plain text, escape for HTML). */
export function displayName(code: string, nickname?: string | null): string {
  return nickname ? `${code} · ${nickname}` : code;
}
