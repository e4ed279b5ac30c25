import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
});
afterEach(async () => tmp.cleanup());

const cli = (...args: string[]) => runCircle(tmp.url, args, { BOT_USERNAME: "circle_bot" });

describe("circle participant / invite", () => {
  it("adds participants and prints an invite with a t.me deep link", async () => {
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
          "7",
          "--group",
          "g1",
        )
      ).code,
    ).toBe(0);
    const dup = await cli(
      "participant",
      "add",
      "P01",
      "--arm",
      "control",
      "--gender",
      "female",
      "--age",
      "7",
    );
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/already exists/);
    const inv = await cli("invite", "create", "--role", "parent", "--participant", "P01");
    expect(inv.code).toBe(0);
    const json = JSON.parse(inv.out) as { code: string; link: string | null };
    expect(Object.keys(json)).toEqual(["code", "link"]);
    expect(json.link).toBe(`https://t.me/circle_bot?start=${json.code}`);
    const p = await tmp.db.participant.findUniqueOrThrow({
      where: { code: "P01" },
      include: { group: true },
    });
    expect(p.group?.name).toBe("g1");
  });

  it("exits 2 with one line for usage errors", async () => {
    for (const args of [
      ["participant", "add", "P02", "--arm", "sideways", "--gender", "male", "--age", "7"],
      ["participant", "add", "P02", "--gender", "male", "--age", "7"],
      ["participant", "add", "P02", "--arm", "none", "--gender", "male", "--age", "seven"],
      ["invite", "create", "--role", "wizard"],
      ["no-such-command"],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
  });

  it("--help works everywhere", async () => {
    for (const args of [
      ["--help"],
      ["participant", "add", "--help"],
      ["invite", "create", "--help"],
      ["report", "--help"],
      ["audit", "verify", "--help"],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.out).toMatch(/Usage: circle/);
    }
  });
});
