// The import use case checks the file against the stored data and writes it in one transaction.
// (Validation, line numbers and what is written: test/analysis/import.test.ts.) Here: two
// processes importing the same file at once, each on its own connection, store it once; and a
// file the database contradicts writes nothing, reported together with the file's own problems.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../src/db/client.js";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { importAnswers } from "../../src/usecases/import.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const flows: LoadedFlows = (() => {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.flows;
})();
const HEADER = "participant,arm,gender,age,timepoint,instrument,item,value";
const items = flows.instruments
  .get("social-skills")!
  .items.filter((it) => it.type !== "text")
  .map((it) => it.id);
const rows = (code: string, value: number) =>
  items.map((id, i) =>
    i === 0
      ? `${code},control,female,7,pre,social-skills,${id},${value}`
      : `${code},control,,,pre,social-skills,${id},${value}`,
  );
const csv = (...lines: string[]) => [HEADER, ...lines].join("\n") + "\n";

let t: TempDb;
let other: Db;
beforeEach(async () => {
  t = await tempDatabase();
  other = await openDatabase(t.url, { migrate: false });
});
afterEach(async () => {
  await other.$disconnect();
  await t.cleanup();
});

describe("importAnswers (use case)", () => {
  it("stores a file imported twice at the same time once: one imports, the other finds it unchanged", async () => {
    const text = csv(...rows("P-01", 3), ...rows("P-02", 2));
    const opts = { file: "answers.csv", actor: { kind: "cli" } } as const;
    const results = await Promise.all([
      importAnswers(t.db, flows, text, opts),
      importAnswers(other, flows, text, opts),
    ]);
    const summaries = results.map((r) => (r.ok ? r.summary : r.errors));
    const first = { participantsCreated: 2, answersImported: 2 * items.length };
    const second = { participantsCreated: 0, answersImported: 0 };
    expect(summaries).toContainEqual(expect.objectContaining(first));
    expect(summaries).toContainEqual(
      expect.objectContaining({ ...second, answersUnchanged: 2 * items.length }),
    );
    expect(await t.db.participant.count()).toBe(2);
    expect(await t.db.answer.count()).toBe(2 * items.length);
    expect(await t.db.auditEvent.count({ where: { action: "import" } })).toBe(2);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("writes nothing when the stored data contradict the file, and reports every problem by line", async () => {
    await addParticipant(
      t.db,
      { code: "P-01", arm: "experimental", gender: "female", ageYears: 7 },
      { kind: "cli" },
    );
    const before = await t.db.auditEvent.count();
    const r = await importAnswers(
      t.db,
      flows,
      csv(
        ...rows("P-02", 2),
        `P-01,control,female,7,pre,social-skills,${items[0]},9`,
        ...rows("P-01", 3),
      ),
      { file: "answers.csv", actor: { kind: "cli" } },
    );
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    const line = items.length + 2;
    expect(errors[0]).toMatch(new RegExp(`^answers\\.csv:${line}: value 9 is outside`));
    expect(errors[1]).toBe(
      `answers.csv:${line + 1}: participant P-01: arm control contradicts the stored arm experimental`,
    );
    expect(errors).toHaveLength(1 + items.length);
    expect(await t.db.participant.count()).toBe(1);
    expect(await t.db.answer.count()).toBe(0);
    expect(await t.db.auditEvent.count()).toBe(before);
  });
});
