// Enrolment by single-use invite: the Telegram account that opens an invite link gets the invite's
// role (and participant or group), or — a facilitator given another group — one group more. The
// invite is marked used in the same transaction as the account, so two redemptions of one code
// (two devices, a redelivered update) can never both succeed.
import type { Db, Tx } from "../db/client.js";
import { audit } from "../store/audit.js";
import { checkInvite, markInviteUsed, type Role } from "./invites.js";
import { redemptionFor } from "../domain/conversations/enrolment.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

/** An Account row as the store returns it. */
export type AccountRecord = NonNullable<Awaited<ReturnType<Tx["account"]["findUnique"]>>>;

export interface RedeemInput {
  telegramUserId: string;
  chatId: number | string;
  code: string;
  /** The language a new account starts in (negotiated from the sender's client language). */
  locale: string;
}

export type RedeemResult =
  | { ok: true; account: AccountRecord; role: Role }
  | {
      ok: false;
      reason: "invalid" | "used" | "expired" | "throttled" | "already-enrolled";
      role?: string;
    };

export async function redeemInvite(
  db: Db,
  input: RedeemInput,
  now: Date,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<RedeemResult> {
  const existing = await db.account.findUnique({ where: { telegramUserId: input.telegramUserId } });
  // Checked (and a wrong code counted towards the chat's throttle) even for an enrolled account.
  const check = await checkInvite(db, input.code, input.chatId, now);
  if (!check.ok) return { ok: false, reason: check.reason };
  const invite = check.invite;
  const what = redemptionFor(existing, invite);
  if (what.kind === "already-enrolled")
    return { ok: false, reason: "already-enrolled", role: what.role };
  if (what.kind === "add-group") {
    const acc = existing!;
    await db.$transaction(async (tx) => {
      if (!(await markInviteUsed(tx, invite.id, acc.id, now))) return;
      await tx.groupFacilitator.upsert({
        where: { groupId_accountId: { groupId: what.groupId, accountId: acc.id } },
        create: { groupId: what.groupId, accountId: acc.id },
        update: {},
      });
      await audit(tx, {
        actor: { kind: "account", accountId: acc.id },
        action: "group.assign-facilitator",
        entity: "Group",
        entityId: what.groupId,
        data: { via: "invite" },
      });
      await alsoCommit(tx);
    });
    return { ok: true, account: acc, role: "facilitator" };
  }
  const account = await db
    .$transaction(async (tx) => {
      const acc = await tx.account.create({
        data: {
          telegramUserId: input.telegramUserId,
          chatId: String(input.chatId),
          role: invite.role,
          locale: input.locale,
          participantId: invite.participantId,
        },
      });
      if (!(await markInviteUsed(tx, invite.id, acc.id, now))) throw new InviteRace();
      if (invite.groupId) {
        await tx.groupFacilitator.create({ data: { groupId: invite.groupId, accountId: acc.id } });
      }
      if (invite.participantId) {
        await tx.participant.update({
          where: { id: invite.participantId },
          data: { status: "enrolled", enrolledAt: now },
        });
      }
      await audit(tx, {
        actor: { kind: "account", accountId: acc.id },
        action: "account.enrol",
        entity: "Account",
        entityId: acc.id,
        data: { role: invite.role, invite: invite.id, participant: invite.participantId },
      });
      await alsoCommit(tx);
      return acc;
    })
    .catch((e: unknown) => {
      if (e instanceof InviteRace) return null;
      throw e;
    });
  if (!account) return { ok: false, reason: "used" };
  return { ok: true, account, role: invite.role };
}

/** Another redemption of the same code committed first: this one rolls back. */
class InviteRace extends Error {}
