// `circle group create|assign|list`, `circle account list`, `circle session plan`, run as a coordinator would.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
});
afterEach(async () => tmp.cleanup());

const cli = (...args: string[]) => runCircle(tmp.url, args);

async function account(
  role: string,
  telegramUserId: string,
  extra: { participantId?: number; locale?: string } = {},
) {
  return tmp.db.account.create({
    data: {
      role,
      telegramUserId,
      chatId: telegramUserId,
      locale: extra.locale ?? "en",
      participantId: extra.participantId ?? null,
    },
  });
}

describe("circle group", () => {
  it("creates, assigns and lists groups, audited", async () => {
    const created = await cli("group", "create", "Ward 3", "--arm", "experimental", "--json");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ name: "Ward 3", arm: "experimental" });
    expect((await cli("group", "create", "Control", "--arm", "control")).out).toMatch(
      /created group Control/,
    );
    const dup = await cli("group", "create", "Ward 3");
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/already exists/);

    expect(
      (
        await cli(
          "participant",
          "add",
          "P01",
          "--arm",
          "experimental",
          "--gender",
          "female",
          "--age",
          "8",
          "--group",
          "Ward 3",
        )
      ).code,
    ).toBe(0);
    const fac = await account("facilitator", "900000001", { locale: "zh" });
    const parent = await account("parent", "900000002", {
      participantId: (await tmp.db.participant.findUniqueOrThrow({ where: { code: "P01" } })).id,
    });

    const assigned = await cli("group", "assign", "Ward 3", "--account", String(fac.id), "--json");
    expect(assigned.code).toBe(0);
    expect(JSON.parse(assigned.out)).toEqual({ group: "Ward 3", account: fac.id, changed: true });
    expect(
      JSON.parse(
        (await cli("group", "assign", "Ward 3", "--account", String(fac.id), "--json")).out,
      ).changed,
    ).toBe(false);
    const wrongRole = await cli("group", "assign", "Ward 3", "--account", String(parent.id));
    expect(wrongRole.code).toBe(1);
    expect(wrongRole.err).toMatch(/is a parent, not a facilitator/);
    expect((await cli("group", "assign", "Nowhere", "--account", String(fac.id))).code).toBe(1);
    expect((await cli("group", "assign", "Ward 3", "--account", "999")).err).toMatch(
      /unknown account 999/,
    );

    const list = JSON.parse((await cli("group", "list", "--json")).out) as {
      groups: {
        name: string;
        arm: string | null;
        participants: string[];
        facilitators: number[];
      }[];
    };
    expect(list.groups.map((g) => [g.name, g.arm, g.participants, g.facilitators])).toEqual([
      ["Control", "control", [], []],
      ["Ward 3", "experimental", ["P01"], [fac.id]],
    ]);
    const text = await cli("group", "list");
    expect(text.out).toContain(`facilitators (account ids): ${fac.id}`);

    const audits = await tmp.db.auditEvent.findMany({
      where: { action: { in: ["group.create", "group.assign-facilitator"] } },
    });
    expect(audits.map((a) => a.action)).toEqual([
      "group.create",
      "group.create",
      "group.assign-facilitator",
    ]);
  });

  it("lists accounts by internal id with role, language, groups and code, never Telegram ids", async () => {
    await cli("group", "create", "A");
    await cli("participant", "add", "P07", "--arm", "control", "--gender", "male", "--age", "10");
    const p = await tmp.db.participant.findUniqueOrThrow({ where: { code: "P07" } });
    const fac = await account("facilitator", "712345678901");
    const parent = await account("parent", "798765432109", { participantId: p.id, locale: "zh" });
    await cli("group", "assign", "A", "--account", String(fac.id));
    const json = await cli("account", "list", "--json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({
      accounts: [
        {
          id: fac.id,
          role: "facilitator",
          locale: "en",
          active: true,
          groups: ["A"],
          participant: null,
        },
        {
          id: parent.id,
          role: "parent",
          locale: "zh",
          active: true,
          groups: [],
          participant: "P07",
        },
      ],
    });
    const text = await cli("account", "list");
    for (const out of [json.out, text.out]) {
      expect(out).not.toContain("712345678901");
      expect(out).not.toContain("798765432109");
    }
    expect(text.out).toMatch(new RegExp(`^${parent.id}\\tparent\\tzh\\tactive\\t-\\tP07$`, "m"));
  });

  it("plans a session date (audited, movable) and refuses numbers and dates the study does not have", async () => {
    await cli("group", "create", "A");
    const r = await cli("session", "plan", "A", "2", "2026-12-10", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      group: "A",
      number: 2,
      plannedOn: "2026-12-10",
      status: "planned",
    });
    expect((await cli("session", "plan", "A", "2", "2026-12-17")).out).toMatch(
      /planned for 2026-12-17/,
    );
    const row = await tmp.db.groupSession.findFirstOrThrow();
    expect(row.plannedOn?.toISOString()).toBe("2026-12-17T00:00:00.000Z");
    const plans = await tmp.db.auditEvent.findMany({ where: { action: "session.plan" } });
    expect(
      plans.map((e) => JSON.parse(e.data) as { plannedOn: string; previous: string | null }),
    ).toEqual([
      expect.objectContaining({ plannedOn: "2026-12-10", previous: null }),
      expect.objectContaining({ plannedOn: "2026-12-17", previous: "2026-12-10" }),
    ]);
    expect((await cli("session", "plan", "A", "9", "2026-12-10")).err).toMatch(
      /session 9 is not in the study/,
    );
    expect((await cli("session", "plan", "A", "1", "2026-02-30")).code).toBe(1);
    expect((await cli("session", "plan", "B", "1", "2026-12-01")).err).toMatch(/unknown group "B"/);
    for (const args of [
      ["session", "plan", "A", "one", "2026-12-10"],
      ["session", "plan", "A", "1", "10.12.2026"],
      ["group", "create", "X", "--arm", "sideways"],
      ["group", "assign", "A", "--account", "abc"],
      ["group", "assign", "A"],
    ]) {
      const u = await cli(...args);
      expect(u.code, args.join(" ")).toBe(2);
      expect(u.err.trim().split("\n")).toHaveLength(1);
    }
  });
});
