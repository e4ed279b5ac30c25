import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { migrateDatabase, listMigrations } from "../src/db/migrate.js";
import { openDatabase } from "../src/db/client.js";

describe("migrations", () => {
  it("bring an empty database (in a folder that does not exist yet) to the current schema, once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "circle-mig-"));
    const url = `file:${join(dir, "nested", "circle.db")}`;
    try {
      const first = migrateDatabase(url);
      expect(first.applied).toEqual(listMigrations().map((m) => m.name));
      const second = migrateDatabase(url);
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toBe(first.applied.length);
      const raw = new Database(join(dir, "nested", "circle.db"));
      const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as {
        name: string;
      }[];
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(["Participant", "Answer", "AuditEvent", "_prisma_migrations"]),
      );
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      raw.close();
      const db = await openDatabase(url);
      expect(await db.participant.count()).toBe(0);
      await db.$disconnect();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("one connection, many chats", () => {
  it("keeps a plain write made while another transaction is open out of that transaction", async () => {
    const dir = mkdtempSync(join(tmpdir(), "circle-lock-"));
    const db = await openDatabase(`file:${join(dir, "c.db")}`);
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = db
        .$transaction(async (t) => {
          await t.setting.create({ data: { key: "in-tx", value: "1" } });
          await gate;
          throw new Error("roll back");
        })
        .catch((e: unknown) => e);
      // Another chat writes while the transaction is open; it must wait, not join it.
      const plain = db.setting.create({ data: { key: "plain", value: "1" } });
      await new Promise((r) => setTimeout(r, 20));
      release();
      expect(await tx).toBeInstanceOf(Error);
      await plain;
      expect((await db.setting.findMany()).map((s) => s.key)).toEqual(["plain"]);
      // A transaction whose code (wrongly) uses the outer client does not deadlock.
      await db.$transaction(async (t) => {
        await t.setting.create({ data: { key: "a", value: "1" } });
        await db.setting.findMany();
      });
      expect(await db.setting.count()).toBe(2);
    } finally {
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
