import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { runCircle } from "../support/cli.js";

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
  for (const code of ["A1", "A2", "A3"]) {
    await addParticipant(
      tmp.db,
      { code, arm: "random", gender: "female", ageYears: 9 },
      { kind: "cli" },
    );
    await createInvite(
      tmp.db,
      { role: "parent", participantCode: code, ttlHours: 1 },
      { kind: "cli" },
    );
  }
});
afterEach(async () => tmp.cleanup());

const cli = (...args: string[]) => runCircle(tmp.url, args);

describe("audit chain", () => {
  it("verifies an untouched chain, through the library and the CLI", async () => {
    const v = await verifyAuditChain(tmp.db);
    expect(v.ok).toBe(true);
    // 3 × (allocation + participant.add + invite.create)
    expect(v.events).toBe(9);
    const r = await cli("audit", "verify");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ok: 9 events/);
  });

  it("catches an edited row at that row, with exit 1", async () => {
    await tmp.db.$executeRawUnsafe(
      `UPDATE "AuditEvent" SET "data" = '{"code":"FORGED"}' WHERE "seq" = 5`,
    );
    const v = await verifyAuditChain(tmp.db);
    expect(v).toMatchObject({ ok: false, brokenAt: { seq: 5 } });
    const r = await cli("audit", "verify");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken at event 5/);
  });

  it("catches a deleted row and a re-hashed forgery that does not link to its predecessor", async () => {
    await tmp.db.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE "seq" = 3`);
    expect(await verifyAuditChain(tmp.db)).toMatchObject({
      ok: false,
      brokenAt: { seq: 3, reason: "event missing" },
    });
  });

  it("catches a changed previous-hash link", async () => {
    await tmp.db.$executeRawUnsafe(
      `UPDATE "AuditEvent" SET "prevHash" = '${"f".repeat(64)}' WHERE "seq" = 7`,
    );
    expect(await verifyAuditChain(tmp.db)).toMatchObject({
      ok: false,
      brokenAt: { seq: 7, reason: "previous-hash link broken" },
    });
  });

  it("catches events cut off the end of the chain (the head still names the last one written)", async () => {
    await tmp.db.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE "seq" >= 8`);
    expect(await verifyAuditChain(tmp.db)).toMatchObject({
      ok: false,
      events: 7,
      brokenAt: {
        seq: 8,
        reason: expect.stringMatching(/head is event 9 but the last event is 7/),
      },
    });
    const r = await cli("audit", "verify");
    expect(r.code).toBe(1);
  });

  it("gives concurrent writers of one process distinct, linked seqs", async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        addParticipant(
          tmp.db,
          { code: `C${i}`, arm: "none", gender: "male", ageYears: 7 },
          { kind: "cli" },
        ),
      ),
    );
    const v = await verifyAuditChain(tmp.db);
    // no arm: no allocation event, one participant.add each
    expect(v).toEqual({ ok: true, events: 9 + 20 });
  });
});
