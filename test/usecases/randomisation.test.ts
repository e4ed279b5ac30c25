import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { blockSequence } from "../../src/usecases/randomisation.js";

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
});
afterEach(async () => tmp.cleanup());

describe("permuted-block randomisation stratified by gender", () => {
  it("balances each stratum within every completed block and is reproducible from the seed", async () => {
    const arms: Record<string, string[]> = { male: [], female: [] };
    for (let i = 0; i < 24; i++) {
      const gender = i % 3 === 0 ? "female" : "male";
      const p = await addParticipant(
        tmp.db,
        { code: `R${i}`, arm: "random", gender, ageYears: 8 },
        { kind: "cli" },
        { seed: "seed-1" },
      );
      arms[gender]!.push(p.arm!);
    }
    for (const gender of ["male", "female"]) {
      const rows = await tmp.db.allocation.findMany({
        where: { stratum: gender },
        orderBy: { position: "asc" },
      });
      const blocks = new Map<number, string[]>();
      for (const r of rows) blocks.set(r.block, [...(blocks.get(r.block) ?? []), r.arm]);
      for (const [block, list] of blocks) {
        expect(list.filter((a) => a === "experimental").length).toBe(list.length / 2);
        expect(list).toEqual(blockSequence("seed-1", gender, block));
      }
      // What participants got is exactly the concealed sequence, in order.
      expect(arms[gender]).toEqual(rows.filter((r) => r.participantId !== null).map((r) => r.arm));
    }
    // Every allocation is audited.
    expect(await tmp.db.auditEvent.count({ where: { action: "randomisation.allocate" } })).toBe(24);
  });

  it("changes with the seed", () => {
    const a = Array.from({ length: 10 }, (_, b) => blockSequence("s1", "male", b + 1).join()).join(
      "|",
    );
    const b = Array.from({ length: 10 }, (_, k) => blockSequence("s2", "male", k + 1).join()).join(
      "|",
    );
    expect(a).not.toEqual(b);
  });
});
