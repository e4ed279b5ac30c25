import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { addParticipant } from "../../src/usecases/participants.js";
import {
  checkInvite,
  createInvite,
  hashInviteCode,
  markInviteUsed,
  THROTTLE_MAX_FAILURES,
} from "../../src/usecases/invites.js";

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
  await addParticipant(
    tmp.db,
    { code: "P1", arm: "control", gender: "male", ageYears: 6 },
    { kind: "cli" },
  );
});
afterEach(async () => tmp.cleanup());

describe("invite codes", () => {
  it("are random, deep-link safe, and stored only as a hash", async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { code } = await createInvite(
        tmp.db,
        { role: "researcher", ttlHours: 1 },
        { kind: "cli" },
      );
      expect(code).toMatch(/^[A-Za-z0-9_-]{20}$/);
      codes.add(code);
    }
    expect(codes.size).toBe(20);
    const rows = await tmp.db.invite.findMany();
    const stored = JSON.stringify(rows);
    for (const c of codes) expect(stored).not.toContain(c);
    expect(rows.map((r) => r.codeHash).sort()).toEqual([...codes].map(hashInviteCode).sort());
  });

  it("are single-use and expire", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const { code } = await createInvite(
      tmp.db,
      { role: "parent", participantCode: "P1", ttlHours: 2 },
      { kind: "cli" },
      now,
    );
    const ok = await checkInvite(tmp.db, code, 1, now);
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    const account = await tmp.db.account.create({ data: { telegramUserId: "1", role: "parent" } });
    expect(await markInviteUsed(tmp.db, ok.invite.id, account.id, now)).toBe(true);
    expect(await markInviteUsed(tmp.db, ok.invite.id, account.id, now)).toBe(false);
    expect(await checkInvite(tmp.db, code, 2, now)).toEqual({ ok: false, reason: "used" });
    const late = await createInvite(
      tmp.db,
      { role: "parent", participantCode: "P1", ttlHours: 2 },
      { kind: "cli" },
      now,
    );
    expect(
      await checkInvite(tmp.db, late.code, 3, new Date(now.getTime() + 2 * 3600_000 + 1)),
    ).toEqual({ ok: false, reason: "expired" });
    expect(
      await checkInvite(tmp.db, late.code, 3, new Date(now.getTime() + 3600_000)),
    ).toMatchObject({ ok: true });
  });

  it("throttle brute force per chat without affecting other chats", async () => {
    const { code } = await createInvite(
      tmp.db,
      { role: "parent", participantCode: "P1", ttlHours: 2 },
      { kind: "cli" },
    );
    for (let i = 0; i < THROTTLE_MAX_FAILURES; i++)
      expect(await checkInvite(tmp.db, `wrong${i}`, 77)).toEqual({ ok: false, reason: "invalid" });
    // Even the right code is refused while throttled: guessing learns nothing.
    expect(await checkInvite(tmp.db, code, 77)).toEqual({ ok: false, reason: "throttled" });
    expect(await checkInvite(tmp.db, code, 78)).toMatchObject({ ok: true });
    // The throttle key is an HMAC, never the chat id itself.
    const keys = await tmp.db.failedAttempt.findMany();
    expect(keys.every((k) => /^[0-9a-f]{64}$/.test(k.keyHash))).toBe(true);
  });

  it("refuse a parent invite without a participant and a participant on other roles", async () => {
    await expect(
      createInvite(tmp.db, { role: "parent", ttlHours: 1 }, { kind: "cli" }),
    ).rejects.toThrow(/needs --participant/);
    await expect(
      createInvite(
        tmp.db,
        { role: "researcher", participantCode: "P1", ttlHours: 1 },
        { kind: "cli" },
      ),
    ).rejects.toThrow(/only parent/);
  });
});
