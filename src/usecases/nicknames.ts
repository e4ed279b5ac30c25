// A facilitator's private name for a child of their groups, shown only in their own chat. The
// audit records that a nickname was set or removed, never the name: the audit goes into exports.
import type { Db } from "../db/client.js";
import { audit } from "../store/audit.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

/** Sets (or, with an empty name, removes) one facilitator's nickname for a child. */
export async function setNickname(
  db: Db,
  input: { accountId: number; participant: { id: number; code: string }; name: string },
  alsoCommit: AlsoCommit = commitNothing,
): Promise<void> {
  const { accountId, participant, name } = input;
  await db.$transaction(async (tx) => {
    const key = { accountId_participantId: { accountId, participantId: participant.id } };
    if (name)
      await tx.nickname.upsert({
        where: key,
        create: { accountId, participantId: participant.id, nickname: name },
        update: { nickname: name },
      });
    else await tx.nickname.deleteMany({ where: { accountId, participantId: participant.id } });
    await audit(tx, {
      actor: { kind: "account", accountId },
      action: name ? "nickname.set" : "nickname.remove",
      entity: "Participant",
      entityId: participant.id,
      data: { participant: participant.code },
    });
    await alsoCommit(tx);
  });
}
