import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/scheduler/clock.js";
import { PacerClosedError, SendPacer, retryAfterSeconds } from "../../src/notify/pacer.js";
import { paceStats } from "./support.js";

const START = Date.UTC(2030, 0, 1);

/** A fake Bot API call: logs when it happens; can answer 429 on chosen calls; optional latency. */
function fakeApi(
  clock: VirtualClock,
  opts: { fail?: (chat: string, n: number) => number | null; latencyMs?: number } = {},
) {
  const calls: { chat: string; at: number; label: string; ok: boolean }[] = [];
  let n = 0;
  const send = (chat: string, label: string) => async () => {
    const at = clock.now();
    const retry = opts.fail?.(chat, n++) ?? null;
    calls.push({ chat, at, label, ok: retry === null });
    if (opts.latencyMs) await clock.sleep(opts.latencyMs);
    if (retry !== null)
      throw Object.assign(new Error("Too Many Requests"), {
        error_code: 429,
        parameters: { retry_after: retry },
      });
    return label;
  };
  return { calls, send };
}

describe("send pacer", () => {
  it("paces a burst of 200 messages over 50 chats within 30/s overall and 1/s per chat, in order per chat", async () => {
    const clock = new VirtualClock(START);
    const pacer = new SendPacer({ clock });
    const api = fakeApi(clock);
    const jobs: Promise<string>[] = [];
    for (let round = 0; round < 4; round++)
      for (let c = 0; c < 50; c++)
        jobs.push(pacer.send(`c${c}`, api.send(`c${c}`, `c${c}#${round}`)));
    const results = await Promise.all(jobs);
    expect(results).toHaveLength(200);
    expect(api.calls).toHaveLength(200);
    const stats = paceStats(api.calls);
    expect(stats.maxPerSecond).toBeLessThanOrEqual(30);
    expect(stats.minChatGap).toBeGreaterThanOrEqual(1000);
    // Not slower than needed either: 200 at 30/s is just under 7 s of (virtual) time.
    expect(stats.span).toBeLessThan(8000);
    for (let c = 0; c < 50; c++) {
      expect(api.calls.filter((x) => x.chat === `c${c}`).map((x) => x.label)).toEqual(
        [0, 1, 2, 3].map((r) => `c${c}#${r}`),
      );
    }
  });

  it("keeps the limits with slow calls too (limits are measured from a send's end)", async () => {
    const clock = new VirtualClock(START);
    const pacer = new SendPacer({ clock });
    const api = fakeApi(clock, { latencyMs: 300 });
    const jobs: Promise<string>[] = [];
    for (let i = 0; i < 120; i++)
      jobs.push(pacer.send(`c${i % 10}`, api.send(`c${i % 10}`, String(i))));
    await Promise.all(jobs);
    const stats = paceStats(api.calls);
    expect(stats.maxPerSecond).toBeLessThanOrEqual(30);
    expect(stats.minChatGap).toBeGreaterThanOrEqual(1000);
  });

  it("honours retry_after on 429: nothing is sent during the pause, the message is retried first, order kept", async () => {
    const clock = new VirtualClock(START);
    const pacer = new SendPacer({ clock });
    // The very first call is refused with retry_after 7 s.
    const api = fakeApi(clock, { fail: (_chat, n) => (n === 0 ? 7 : null) });
    const done = await Promise.all([
      pacer.send("a", api.send("a", "a1")),
      pacer.send("a", api.send("a", "a2")),
      pacer.send("b", api.send("b", "b1")),
      pacer.send("a", api.send("a", "a3")),
    ]);
    expect(done).toEqual(["a1", "a2", "b1", "a3"]);
    const refused = api.calls[0]!;
    expect(refused).toMatchObject({ label: "a1", ok: false });
    // Every later call waited out the 7 s pause (b1 may go first: it was queued behind no one in its chat).
    for (const c of api.calls.slice(1)) expect(c.at).toBeGreaterThanOrEqual(refused.at + 7000);
    expect(api.calls.filter((c) => c.chat === "a" && c.ok).map((c) => c.label)).toEqual([
      "a1",
      "a2",
      "a3",
    ]);
  });

  it("gives up after maxRetries 429s and passes other errors through at once", async () => {
    const clock = new VirtualClock(START);
    const pacer = new SendPacer({ clock, maxRetries: 2 });
    const api = fakeApi(clock, { fail: () => 1 });
    await expect(pacer.send("a", api.send("a", "x"))).rejects.toMatchObject({ error_code: 429 });
    expect(api.calls).toHaveLength(3);
    const boom = pacer.send("b", async () => {
      throw Object.assign(new Error("Forbidden: bot was blocked by the user"), { error_code: 403 });
    });
    await expect(boom).rejects.toMatchObject({ error_code: 403 });
  });

  it("close() rejects what has not started", async () => {
    const clock = new VirtualClock(START);
    const pacer = new SendPacer({ clock });
    const api = fakeApi(clock);
    const first = pacer.send("a", api.send("a", "1"));
    const second = pacer.send("a", api.send("a", "2"));
    await first;
    await pacer.close();
    await expect(second).rejects.toBeInstanceOf(PacerClosedError);
    await expect(pacer.send("a", api.send("a", "3"))).rejects.toBeInstanceOf(PacerClosedError);
    expect(api.calls.map((c) => c.label)).toEqual(["1"]);
  });

  it("reads retry_after from Bot API errors", () => {
    expect(retryAfterSeconds({ error_code: 429, parameters: { retry_after: 12 } })).toBe(12);
    expect(retryAfterSeconds({ error_code: 429 })).toBe(1);
    expect(retryAfterSeconds({ error_code: 400, parameters: { retry_after: 3 } })).toBeNull();
    expect(retryAfterSeconds(new Error("x"))).toBeNull();
  });
});

describe("send pacer, a send made while its pump is finishing", () => {
  it("is not stranded: a job's next message, sent as soon as the previous one settled, goes out", async () => {
    // The outbox's session-over job sends two messages to one chat, one after the other; the
    // second send can arrive in the few microtasks between the pump's last loop and its exit.
    // Every delay in microtasks is tried, each with a fresh pacer.
    for (let delay = 0; delay < 40; delay++) {
      const clock = new VirtualClock(START);
      const pacer = new SendPacer({ clock, perChatMs: 0 });
      const first = pacer.send("c", async () => "first");
      const failing = pacer.send("d", async () => {
        throw new Error("blocked");
      });
      await Promise.allSettled([first, failing]);
      for (let i = 0; i < delay; i++) await Promise.resolve();
      const second = pacer.send("c", async () => "second");
      const outcome = await Promise.race([
        second,
        new Promise((r) => setTimeout(() => r("stranded"), 200)),
      ]);
      expect(outcome, `after ${delay} microtasks`).toBe("second");
      await pacer.close();
    }
  });
});
