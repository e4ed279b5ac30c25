// Participants are known by pseudonymous codes only. Adding one (with an arm, or randomised)
// and assigning a group are audited.
import { randomInt } from "node:crypto";
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import { allocate } from "./randomisation.js";

export type ArmChoice = "experimental" | "control" | "none" | "random";
export type Gender = "male" | "female";

export class DomainError extends Error {}

export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$/;
const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no 0/O, 1/I: read aloud on a ward

/** A random, non-derivable code such as "LK-7Q3M". */
export function generateCode(prefix = "LK"): string {
  let s = "";
  for (let i = 0; i < 4; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${prefix}-${s}`;
}

export interface AddParticipantInput {
  code: string;
  arm: ArmChoice;
  gender: Gender;
  ageYears: number;
  group?: string | undefined;
}

export async function ensureGroup(tx: Tx, name: string, actor: AuditActor, arm?: string | null) {
  const existing = await tx.group.findUnique({ where: { name } });
  if (existing) return existing;
  const group = await tx.group.create({ data: { name, arm: arm ?? null } });
  await audit(tx, {
    actor,
    action: "group.create",
    entity: "Group",
    entityId: group.id,
    data: { name, arm: arm ?? null },
  });
  return group;
}

export async function addParticipant(
  db: Db,
  input: AddParticipantInput,
  actor: AuditActor,
  opts: { seed?: string | undefined } = {},
) {
  if (!CODE_PATTERN.test(input.code)) {
    throw new DomainError(
      `participant code "${input.code}" must be 2–32 letters, digits, "-" or "_"`,
    );
  }
  if (!Number.isInteger(input.ageYears) || input.ageYears < 0 || input.ageYears > 25) {
    throw new DomainError(`age must be a whole number of years between 0 and 25`);
  }
  return db.$transaction(async (tx) => {
    if (await tx.participant.findUnique({ where: { code: input.code } })) {
      throw new DomainError(`participant "${input.code}" already exists`);
    }
    const fixedArm = input.arm === "random" || input.arm === "none" ? null : input.arm;
    const groupRow = input.group ? await ensureGroup(tx, input.group, actor, fixedArm) : null;
    let p = await tx.participant.create({
      data: {
        code: input.code,
        arm: fixedArm,
        gender: input.gender,
        ageYears: input.ageYears,
        groupId: groupRow?.id ?? null,
      },
    });
    if (input.arm === "random") {
      const arm = await allocate(tx, p.id, input.gender, actor, opts.seed);
      p = await tx.participant.update({ where: { id: p.id }, data: { arm } });
    }
    await audit(tx, {
      actor,
      action: "participant.add",
      entity: "Participant",
      entityId: p.id,
      data: {
        code: p.code,
        arm: p.arm,
        armChoice: input.arm,
        gender: p.gender,
        ageYears: p.ageYears,
        group: input.group ?? null,
      },
    });
    return p;
  });
}

export async function findParticipant(db: Tx, code: string) {
  const p = await db.participant.findUnique({ where: { code } });
  if (!p) throw new DomainError(`unknown participant "${code}"`);
  return p;
}
