import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
});
afterEach(async () => tmp.cleanup());

const cli = (...args: string[]) => runCircle(tmp.url, args);

describe("circle account alerts", () => {
  it("opts a coordinator in and out, audited; refuses other roles and bad usage", async () => {
    const admin = await tmp.db.account.create({ data: { telegramUserId: "11", role: "admin" } });
    const parent = await tmp.db.account.create({ data: { telegramUserId: "12", role: "parent" } });
    expect((await cli("account", "alerts", String(admin.id), "--on")).code).toBe(0);
    expect((await tmp.db.account.findUniqueOrThrow({ where: { id: admin.id } })).alertsOptIn).toBe(
      true,
    );
    expect((await cli("account", "alerts", String(admin.id), "--off")).code).toBe(0);
    expect((await tmp.db.account.findUniqueOrThrow({ where: { id: admin.id } })).alertsOptIn).toBe(
      false,
    );
    expect(await tmp.db.auditEvent.count({ where: { action: "account.alerts" } })).toBe(2);
    expect((await cli("account", "alerts", String(parent.id), "--on")).code).toBe(1);
    expect((await cli("account", "alerts", String(admin.id))).code).toBe(2);
    expect((await cli("account", "alerts", String(admin.id), "--on", "--off")).code).toBe(2);
    const list = await cli("account", "list", "--json");
    expect(list.out).not.toContain('"11"');
  });
});
