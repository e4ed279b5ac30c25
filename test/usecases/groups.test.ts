// setProtocolAlerts: a coordinator (admin) account opts in or out of protocol-deviation alerts;
// each change is audited, and any other account is refused without a write.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../../src/usecases/participants.js";
import { setProtocolAlerts } from "../../src/usecases/groups.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { tempDatabase, type TempDb } from "../support/db.js";

let t: TempDb;
beforeEach(async () => {
  t = await tempDatabase();
});
afterEach(async () => t.cleanup());

const cli = { kind: "cli" } as const;

describe("setProtocolAlerts", () => {
  it("turns an admin's alerts on and off, auditing each change", async () => {
    const admin = await t.db.account.create({ data: { telegramUserId: "1", role: "admin" } });
    await setProtocolAlerts(t.db, admin.id, true, cli);
    expect((await t.db.account.findUniqueOrThrow({ where: { id: admin.id } })).alertsOptIn).toBe(
      true,
    );
    await setProtocolAlerts(t.db, admin.id, false, cli);
    expect((await t.db.account.findUniqueOrThrow({ where: { id: admin.id } })).alertsOptIn).toBe(
      false,
    );
    const events = await t.db.auditEvent.findMany({
      where: { action: "account.alerts" },
      orderBy: { seq: "asc" },
    });
    expect(events.map((e) => [e.actor, e.entity, e.entityId, JSON.parse(e.data)])).toEqual([
      ["cli", "Account", String(admin.id), { alertsOptIn: true }],
      ["cli", "Account", String(admin.id), { alertsOptIn: false }],
    ]);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("refuses an unknown account and a non-coordinator, writing nothing", async () => {
    const parent = await t.db.account.create({ data: { telegramUserId: "2", role: "parent" } });
    await expect(setProtocolAlerts(t.db, parent.id + 1, true, cli)).rejects.toThrow(
      new DomainError(`no account ${parent.id + 1}`),
    );
    await expect(setProtocolAlerts(t.db, parent.id, true, cli)).rejects.toThrow(
      new DomainError(
        `account ${parent.id} is a parent; protocol alerts go to coordinators (admin accounts)`,
      ),
    );
    expect((await t.db.account.findUniqueOrThrow({ where: { id: parent.id } })).alertsOptIn).toBe(
      false,
    );
    expect(await t.db.auditEvent.count()).toBe(0);
  });
});
