import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../src/db/client.js";
import {
  MAX_ATTEMPTS,
  backoffMs,
  claimDueJobs,
  completeJob,
  enqueueJob,
  enqueueJobs,
  failJob,
  rescheduleJob,
  stillHeld,
} from "../../src/scheduler/jobs.js";
import { tempDatabase, type TempDb } from "../support/db.js";

let tmp: TempDb;
const T = new Date(Date.UTC(2030, 2, 4, 9));
const at = (ms: number) => new Date(T.getTime() + ms);

beforeEach(async () => {
  tmp = await tempDatabase();
});
afterEach(async () => {
  await tmp.cleanup();
});

describe("durable jobs", () => {
  it("enqueues idempotently by dedupe key", async () => {
    const a = await enqueueJob(tmp.db, {
      kind: "k",
      dueAt: T,
      dedupeKey: "x:1",
      payload: { n: 1 },
    });
    const b = await enqueueJob(tmp.db, {
      kind: "k",
      dueAt: at(5000),
      dedupeKey: "x:1",
      payload: { n: 2 },
    });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.job.id).toBe(a.job.id);
    expect(
      await enqueueJobs(tmp.db, [
        { kind: "k", dueAt: T, dedupeKey: "x:1" },
        { kind: "k", dueAt: T, dedupeKey: "x:2" },
      ]),
    ).toBe(1);
    expect(await tmp.db.job.count()).toBe(2);
    // A finished job's key stays taken: "each alert once".
    const [claimed] = await claimDueJobs(tmp.db, T, 10);
    await completeJob(tmp.db, claimed!, T);
    expect(
      (await enqueueJob(tmp.db, { kind: "k", dueAt: T, dedupeKey: claimed!.dedupeKey! })).created,
    ).toBe(false);
  });

  it("claims only due jobs, oldest first, and never the same job twice", async () => {
    await enqueueJob(tmp.db, { kind: "k", dueAt: at(2000), dedupeKey: "late" });
    await enqueueJob(tmp.db, { kind: "k", dueAt: at(-1000), dedupeKey: "early" });
    await enqueueJob(tmp.db, { kind: "k", dueAt: at(60_000), dedupeKey: "future" });
    const first = await claimDueJobs(tmp.db, at(2000), 10);
    expect(first.map((j) => j.dedupeKey)).toEqual(["early", "late"]);
    expect(await claimDueJobs(tmp.db, at(3000), 10)).toEqual([]);
  });

  it("two processes claiming at once split the jobs between them", async () => {
    for (let i = 0; i < 40; i++)
      await enqueueJob(tmp.db, { kind: "k", dueAt: T, dedupeKey: `j${i}` });
    const other: Db = await openDatabase(tmp.url);
    try {
      const [a, b] = await Promise.all([claimDueJobs(tmp.db, T, 40), claimDueJobs(other, T, 40)]);
      const ids = [...a, ...b].map((j) => j.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(40);
    } finally {
      await other.$disconnect();
    }
  });

  it("two OS processes draining the same table never run a job twice", async () => {
    for (let i = 0; i < 60; i++)
      await enqueueJob(tmp.db, { kind: "k", dueAt: T, dedupeKey: `p${i}` });
    const run = () =>
      promisify(execFile)("npx", [
        "tsx",
        "test/scheduler/claim-worker.ts",
        tmp.url,
        String(T.getTime()),
      ]);
    const [a, b] = await Promise.all([run(), run()]);
    const ids = [...(JSON.parse(a.stdout) as number[]), ...(JSON.parse(b.stdout) as number[])];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(60);
    expect(await tmp.db.job.count({ where: { doneAt: null } })).toBe(0);
  });

  it("a crashed claim expires; the old holder can no longer finish it", async () => {
    await enqueueJob(tmp.db, { kind: "k", dueAt: T, dedupeKey: "c" });
    const [crashed] = await claimDueJobs(tmp.db, T, 10, 60_000);
    expect(await claimDueJobs(tmp.db, at(59_000), 10)).toEqual([]);
    const [again] = await claimDueJobs(tmp.db, at(60_000), 10, 60_000);
    expect(again!.id).toBe(crashed!.id);
    expect(again!.attempts).toBe(2);
    expect(await stillHeld(tmp.db, crashed!)).toBe(false);
    expect(await completeJob(tmp.db, crashed!, at(60_500))).toBe(false);
    expect(await completeJob(tmp.db, again!, at(60_500))).toBe(true);
    expect((await tmp.db.job.findFirstOrThrow()).doneAt).toEqual(at(60_500));
  });

  it("failures back off and are given up after MAX_ATTEMPTS; a reschedule is not an attempt", async () => {
    await enqueueJob(tmp.db, { kind: "k", dueAt: T, dedupeKey: "f" });
    let now = T;
    let [job] = await claimDueJobs(tmp.db, now, 1);
    expect(await rescheduleJob(tmp.db, job!, at(1000))).toBe(true);
    now = at(1000);
    for (let i = 1; i <= MAX_ATTEMPTS; i++) {
      [job] = await claimDueJobs(tmp.db, now, 1);
      expect(job!.attempts).toBe(i);
      const outcome = await failJob(tmp.db, job!, now, `boom ${i}`);
      const row = await tmp.db.job.findFirstOrThrow();
      if (i < MAX_ATTEMPTS) {
        expect(outcome).toBe("retry");
        expect(row.dueAt.getTime() - now.getTime()).toBe(backoffMs(i));
        expect(await claimDueJobs(tmp.db, new Date(row.dueAt.getTime() - 1), 1)).toEqual([]);
        now = row.dueAt;
      } else {
        expect(outcome).toBe("gave-up");
        expect(row.doneAt).not.toBeNull();
        expect(row.lastError).toMatch(/gave up after 5 attempts: boom 5/);
      }
    }
    expect(await claimDueJobs(tmp.db, at(10 * 3_600_000), 1)).toEqual([]);
  });

  it("a job that keeps crashing its process is given up at the next claim", async () => {
    await enqueueJob(tmp.db, { kind: "k", dueAt: T, dedupeKey: "poison" });
    let now = T.getTime();
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      expect(await claimDueJobs(tmp.db, new Date(now), 1, 1000)).toHaveLength(1);
      now += 1000;
    }
    expect(await claimDueJobs(tmp.db, new Date(now), 1, 1000)).toEqual([]);
    expect((await tmp.db.job.findFirstOrThrow()).lastError).toMatch(/gave up/);
  });
});
