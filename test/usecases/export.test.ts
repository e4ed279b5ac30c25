// The export use cases: what leaves Circle is written first and then audited, once, with the actor
// and exactly the files written; a failed write leaves no audit event behind.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXPORT_FILES } from "../../src/analysis/export.js";
import { codeReport } from "../../src/analysis/qualitative.js";
import { exportCodeCsv, exportData, exportQdpx } from "../../src/usecases/export.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { flows, seedNotes } from "../analysis/qualitative-seed.js";
import { tempDatabase, type TempDb } from "../support/db.js";

let t: TempDb;
let researcher: { kind: "account"; accountId: number };
beforeEach(async () => {
  t = await tempDatabase();
  await seedNotes(t.db);
  const account = await t.db.account.create({
    data: { telegramUserId: "1", chatId: "1", role: "researcher" },
  });
  researcher = { kind: "account", accountId: account.id };
});
afterEach(async () => t.cleanup());

const events = async (action: string) =>
  (await t.db.auditEvent.findMany({ where: { action }, orderBy: { seq: "asc" } })).map((e) => ({
    actor: e.actor,
    actorAccountId: e.actorAccountId,
    entity: e.entity,
    data: JSON.parse(e.data) as unknown,
  }));

describe("exportData", () => {
  it("writes the files, then audits them with the scripts' formats and language", async () => {
    const dir = join(t.dir, "out");
    const r = await exportData(t.db, flows, dir, researcher, { formats: ["spss"], locale: "zh" });
    expect(r.dir).toBe(dir);
    expect(r.files.map((f) => f.name)).toEqual([...EXPORT_FILES, "circle.sps"]);
    for (const f of r.files) expect(existsSync(join(dir, f.name)), f.name).toBe(true);
    expect(await events("export")).toEqual([
      {
        actor: "account",
        actorAccountId: researcher.accountId,
        entity: "Export",
        data: { files: r.files, formats: ["spss"], locale: "zh" },
      },
    ]);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("audits nothing when the files cannot be written", async () => {
    const blocked = join(t.dir, "a-file");
    writeFileSync(blocked, "");
    await expect(exportData(t.db, flows, join(blocked, "out"), researcher)).rejects.toThrow();
    expect(await events("export")).toEqual([]);
  });
});

describe("exportCodeCsv and exportQdpx", () => {
  it("write the qualitative files and audit each with what was written", async () => {
    const now = new Date("2026-03-01T10:00:00Z");
    const { report, notes } = await codeReport(t.db, flows, now);
    const dir = join(t.dir, "codes");
    const files = await exportCodeCsv(t.db, flows, report, notes, dir, {
      actor: researcher,
      locale: "en",
    });
    expect(files.map((f) => f.name)).toEqual(["codes_summary.csv", "coded_segments.csv"]);
    for (const f of files) expect(existsSync(join(dir, f.name)), f.name).toBe(true);
    const file = join(t.dir, "notes.qdpx");
    const q = await exportQdpx(t.db, flows, notes, file, { now, actor: { kind: "cli" } });
    expect(existsSync(file)).toBe(true);
    expect(q.sources).toBe(notes.length);

    expect(await events("export.codes")).toEqual([
      {
        actor: "account",
        actorAccountId: researcher.accountId,
        entity: "Export",
        data: { dir, files },
      },
    ]);
    expect(await events("export.qdpx")).toEqual([
      {
        actor: "cli",
        actorAccountId: null,
        entity: "Export",
        data: { file, sources: q.sources, codings: q.codings },
      },
    ]);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});
