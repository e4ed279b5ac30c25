// Single-use invite codes. Only a SHA-256 hash of a code is stored, codes expire, and repeated
// wrong codes from one chat are throttled (keyed by an HMAC of the chat, never the raw id).
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import { DomainError, findParticipant } from "./participants.js";
import { getOrCreateSecret, getSetting } from "./settings.js";

export type Role = "admin" | "researcher" | "facilitator" | "parent";
export const ROLES: Role[] = ["admin", "researcher", "facilitator", "parent"];

/** 15 random bytes → 20 base64url characters: valid as a t.me start parameter (max 64, [A-Za-z0-9_-]). */
export function newInviteCode(): string {
  return randomBytes(15).toString("base64url");
}

export function hashInviteCode(code: string): string {
  return createHash("sha256").update(code.trim()).digest("hex");
}

export function deepLink(botUsername: string | null | undefined, code: string): string | null {
  return botUsername ? `https://t.me/${botUsername}?start=${code}` : null;
}

export async function botUsername(db: Tx, configured?: string): Promise<string | null> {
  return configured ?? (await getSetting(db, "bot.username"));
}

export interface CreateInviteInput {
  role: Role;
  participantCode?: string | undefined;
  group?: string | undefined;
  ttlHours: number;
}

export async function createInvite(
  db: Db,
  input: CreateInviteInput,
  actor: AuditActor,
  now = new Date(),
) {
  if (input.role === "parent" && !input.participantCode) {
    throw new DomainError("a parent invite needs --participant <code>");
  }
  if (input.role !== "parent" && input.participantCode) {
    throw new DomainError("only parent invites are bound to a participant");
  }
  if (input.group && input.role !== "facilitator") {
    throw new DomainError("--group is for facilitator invites");
  }
  const code = newInviteCode();
  const expiresAt = new Date(now.getTime() + input.ttlHours * 3600_000);
  await db.$transaction(async (tx) => {
    const participant = input.participantCode
      ? await findParticipant(tx, input.participantCode)
      : null;
    if (participant?.status === "withdrawn")
      throw new DomainError(`participant "${participant.code}" has withdrawn`);
    let groupId: number | null = null;
    if (input.group) {
      const g = await tx.group.findUnique({ where: { name: input.group } });
      if (!g) throw new DomainError(`unknown group "${input.group}"`);
      groupId = g.id;
    }
    const invite = await tx.invite.create({
      data: {
        codeHash: hashInviteCode(code),
        role: input.role,
        participantId: participant?.id ?? null,
        groupId,
        expiresAt,
      },
    });
    await audit(tx, {
      actor,
      action: "invite.create",
      entity: "Invite",
      entityId: invite.id,
      data: {
        role: input.role,
        participant: participant?.code ?? null,
        group: input.group ?? null,
        expiresAt: expiresAt.toISOString(),
      },
    });
  });
  return { code, expiresAt };
}

export type InviteCheck =
  | {
      ok: true;
      invite: { id: number; role: Role; participantId: number | null; groupId: number | null };
    }
  | { ok: false; reason: "invalid" | "used" | "expired" | "throttled" };

export const THROTTLE_MAX_FAILURES = 5;
export const THROTTLE_WINDOW_MS = 15 * 60_000;

export async function throttleKey(db: Tx, chatId: number | string): Promise<string> {
  const secret = await getOrCreateSecret(db, "secret.throttle-hmac");
  return createHmac("sha256", secret).update(String(chatId)).digest("hex");
}

export async function isThrottled(db: Tx, keyHash: string, now = new Date()): Promise<boolean> {
  const n = await db.failedAttempt.count({
    where: { keyHash, at: { gt: new Date(now.getTime() - THROTTLE_WINDOW_MS) } },
  });
  return n >= THROTTLE_MAX_FAILURES;
}

/**
 * Looks up a code for redemption from a chat. Wrong codes count towards the throttle; a
 * throttled chat is refused before the code is even looked up (so brute force learns nothing).
 */
export async function checkInvite(
  db: Tx,
  code: string,
  chatId: number | string,
  now = new Date(),
): Promise<InviteCheck> {
  const key = await throttleKey(db, chatId);
  if (await isThrottled(db, key, now)) return { ok: false, reason: "throttled" };
  const invite = /^[A-Za-z0-9_-]{1,64}$/.test(code)
    ? await db.invite.findUnique({ where: { codeHash: hashInviteCode(code) } })
    : null;
  const fail = async (reason: "invalid" | "used" | "expired"): Promise<InviteCheck> => {
    await db.failedAttempt.create({ data: { keyHash: key, at: now } });
    return { ok: false, reason };
  };
  if (!invite) return fail("invalid");
  if (invite.usedAt) return fail("used");
  if (invite.expiresAt.getTime() <= now.getTime()) return fail("expired");
  return {
    ok: true,
    invite: {
      id: invite.id,
      role: invite.role as Role,
      participantId: invite.participantId,
      groupId: invite.groupId,
    },
  };
}

/** Marks an invite used; returns false when another redemption won the race (single use). */
export async function markInviteUsed(
  tx: Tx,
  inviteId: number,
  accountId: number,
  now = new Date(),
): Promise<boolean> {
  const r = await tx.invite.updateMany({
    where: { id: inviteId, usedAt: null },
    data: { usedAt: now, usedByAccountId: accountId },
  });
  return r.count === 1;
}
