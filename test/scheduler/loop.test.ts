import { afterEach, describe, expect, it, vi } from "vitest";
import { startBackground } from "../../src/telegram/wiring.js";
import { startScheduler } from "../../src/scheduler/loop.js";
import { notifyDeps } from "../../src/telegram/outbound.js";
import { World, addStaff, seedGroup } from "./support.js";
import { VirtualClock } from "../../src/scheduler/clock.js";

let w: World;
afterEach(async () => {
  await w.cleanup();
});

describe("the polling loop", () => {
  it("startBackground runs the scheduler on real time until stopped", async () => {
    // Real time for the loop (its setTimeout between ticks) and for pacing; SCHEDULER_POLL_MS 50.
    w = await World.create(
      { REMINDER_MAX: 0, SCHEDULER_POLL_MS: 50 },
      new VirtualClock(Date.now()),
    );
    const admin = await addStaff(w, "admin", { optIn: true });
    await seedGroup(w, "G1", [Date.now() - 3 * 86_400_000, null, null, null, null, null]);
    const bg = startBackground(w.s);
    // The first tick finds the unlogged session and fans the alert out; the next sends it.
    await vi.waitFor(() => expect(w.tg.messages(admin.chat)).toHaveLength(1), {
      timeout: 10_000,
      interval: 20,
    });
    await bg.stop();
    const after = w.tg.calls.length;
    const jobs = await w.db.job.count();
    await new Promise((r) => setTimeout(r, 200));
    expect(w.tg.calls.length).toBe(after);
    expect(await w.db.job.count()).toBe(jobs);
  });

  it("stop() gives back claims whose messages were still waiting to be sent", async () => {
    w = await World.create({ REMINDER_MAX: 0 }, new VirtualClock(Date.now()));
    const admin = await addStaff(w, "admin", { optIn: true });
    for (let i = 0; i < 3; i++)
      await seedGroup(w, `G${i}`, [Date.now() - 3 * 86_400_000, null, null, null, null, null]);
    // Every send is refused with a long retry_after, so the messages sit in the pacer.
    w.tg.failNext(
      "sendMessage",
      { code: 429, description: "Too Many Requests: retry after 600", retryAfter: 600 },
      100,
    );
    const handle = startScheduler(notifyDeps(w.s), { pollMs: 50, planEveryMs: 50 });
    await vi.waitFor(
      async () => expect(await w.db.job.count({ where: { kind: "alert" } })).toBe(3),
      { timeout: 10_000, interval: 50 },
    );
    await vi.waitFor(() => expect(w.tg.rejections.length).toBeGreaterThan(0), {
      timeout: 10_000,
      interval: 50,
    });
    await handle.stop();
    const alerts = await w.db.job.findMany({ where: { kind: "alert" } });
    for (const j of alerts) {
      expect(j.doneAt).toBeNull();
      expect(j.lockedUntil).toBeNull();
    }
    expect(w.tg.messages(admin.chat)).toHaveLength(0);
  });
});
