// Account settings a person changes themselves.
import type { Db } from "../db/client.js";
import { audit } from "../store/audit.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

/** The language an account reads the bot in (one of the study's locales: the caller checks). */
export async function setAccountLocale(
  db: Db,
  accountId: number,
  locale: string,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.account.update({ where: { id: accountId }, data: { locale } });
    await audit(tx, {
      actor: { kind: "account", accountId },
      action: "account.locale",
      entity: "Account",
      entityId: accountId,
      data: { locale },
    });
    await alsoCommit(tx);
  });
}
