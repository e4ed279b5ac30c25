// Several bot instances on one PostgreSQL database, behind one webhook URL: the sandbox delivers
// on several connections at once (one chat's updates in order), a load balancer sends each
// delivery to a random instance, and instances are SIGKILLed at seeded random moments and
// restarted while parents answer and the instances' schedulers send announcements.
//
// Afterwards: every answer a parent saw acknowledged is stored exactly once and nothing else is,
// every conversation resumes at its exact next step, every update Telegram delivered was
// processed, every announcement job ran once and reached its family exactly once (a killed
// instance's claims are taken over when their lease expires), and the audit chain verifies.
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox, type SandboxEvent } from "../../src/sandbox/index.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { assignTimepoint } from "../../src/usecases/timepoints.js";
import { shippedFlows } from "../support/bot.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { startBalancer, type Balancer } from "../support/balancer.js";
import { freePort, WebhookBotProcess } from "../support/webhook-process.js";
import { ChatHub, Family, Gate, familyJourney } from "../reliability/support/family.js";
import { checkFamilies, checkStore, storeSummary } from "../reliability/support/checks.js";
import { ChatLog } from "../reliability/support/order.js";
import { botText, randomInt, seconds, seededRandom, sleep } from "../reliability/support/run.js";

const INSTANCES = 3;
const PARENTS = Number(process.env.INSTANCES_PARENTS ?? 100);
const KILLS = Number(process.env.INSTANCES_KILLS ?? 20);
/** Families that only receive an announcement from the schedulers (no questionnaire traffic). */
const ANNOUNCED = 30;
const SEED = Number(process.env.RELIABILITY_SEED ?? 20_261_208);

let tmp: TempDb | undefined;
let sandbox: Sandbox | undefined;
let balancer: Balancer | undefined;
const procs: WebhookBotProcess[] = [];

afterEach(async () => {
  for (const p of procs) await p.stop();
  procs.length = 0;
  await balancer?.close();
  await sandbox?.stop();
  await tmp?.cleanup();
  balancer = undefined;
  sandbox = undefined;
  tmp = undefined;
});

describe(`${INSTANCES} webhook instances on PostgreSQL (${PARENTS} parents, ${KILLS} SIGKILLs, seed ${SEED})`, () => {
  it("stores every acknowledged answer once, resumes every conversation, processes every update and sends every job once", async () => {
    const started = Date.now();
    const flows = shippedFlows();
    const random = seededRandom(SEED);
    tmp = await tempDatabase();
    expect(tmp.engine).toBe("postgres");
    const db = tmp.db;
    sandbox = await startSandbox({
      token: "7200001:INSTANCES",
      webhookConnections: 12,
      webhookRetryMs: 50,
      webhookMaxRetryMs: 400,
    });
    const hub = new ChatHub(sandbox);
    const gate = new Gate(hub);
    const chatLog = new ChatLog(sandbox);
    const pushed = new Set<number>();
    let redeliveries = 0;
    sandbox.state.events.on("change", (e: SandboxEvent) => {
      if (e.kind === "update") pushed.add(e.updateId);
      if (e.kind === "webhookError") redeliveries++;
    });

    let acks = 0;
    const progress = new Set<() => void>();
    const families: Family[] = [];
    for (let i = 0; i < PARENTS; i++) {
      const code = `MI-${String(i + 1).padStart(3, "0")}`;
      const arm = i % 2 ? "control" : "experimental";
      await addParticipant(
        db,
        { code, arm, gender: i % 3 ? "female" : "male", ageYears: 6 + (i % 7) },
        { kind: "cli" },
      );
      const invite = (
        await createInvite(
          db,
          { role: "parent", participantCode: code, ttlHours: 24 },
          { kind: "cli" },
        )
      ).code;
      const journey = familyJourney(flows, arm);
      const last = journey.length - 1;
      const target = random() < 0.25 ? last : randomInt(random, 3, Math.min(last - 1, 30));
      const answerSeed = Math.floor(random() * 2 ** 31);
      families.push(
        new Family({
          sandbox,
          hub,
          gate,
          user: sandbox.createUser({ firstName: `Parent ${i + 1}`, languageCode: "en" }),
          participant: code,
          invite,
          journey,
          target,
          choose: (item) =>
            Math.floor(seededRandom(answerSeed ^ item.id.length)() * item.options.length),
          patienceMs: 60_000,
          onAck: () => {
            acks++;
            for (const wake of progress) wake();
          },
        }),
      );
    }
    // Families that enrolled on paper: consented, with a parent chat, no questionnaire yet.
    const announced: { code: string; chatId: number }[] = [];
    for (let i = 0; i < ANNOUNCED; i++) {
      const code = `MA-${String(i + 1).padStart(3, "0")}`;
      const p = await addParticipant(
        db,
        { code, arm: "control", gender: "female", ageYears: 9 },
        { kind: "cli" },
      );
      const user = sandbox.createUser({ firstName: `Paper ${i + 1}`, languageCode: "en" });
      await db.account.create({
        data: {
          telegramUserId: String(user.id),
          chatId: String(user.chatId),
          role: "parent",
          locale: "en",
          participantId: p.id,
        },
      });
      for (const kind of ["consent", "assent"])
        await db.consent.create({
          data: {
            participantId: p.id,
            kind,
            version: "1",
            decision: "agree",
            recordedByRole: "admin",
          },
        });
      await db.participant.update({ where: { id: p.id }, data: { status: "consented" } });
      announced.push({ code, chatId: user.chatId });
    }

    const ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
    balancer = await startBalancer(ports, seededRandom(SEED ^ 0x5eed));
    for (const port of ports)
      procs.push(
        new WebhookBotProcess({
          sandbox,
          databaseUrl: tmp.url,
          port,
          webhookUrl: balancer.url,
          // A killed instance's claimed jobs go to another after 5 s.
          env: { SCHEDULER_POLL_MS: "200", SCHEDULER_LEASE_SECONDS: "5", PG_POOL_SIZE: "6" },
        }),
      );
    await Promise.all(procs.map((p) => p.start()));
    gate.open();
    const setupSeconds = seconds(started);
    const runStarted = Date.now();

    const totalSteps = families.reduce((n, f) => n + f.o.target, 0);
    const plan = Array.from({ length: KILLS }, () =>
      Math.floor((0.03 + 0.8 * random()) * totalSteps),
    ).sort((a, b) => a - b);
    const announceAt = Math.floor(0.2 * totalSteps);
    let finished = false;
    const waitForAcks = (n: number) =>
      new Promise<void>((done) => {
        const check = () => {
          if (acks >= n || finished) {
            progress.delete(check);
            done();
          }
        };
        progress.add(check);
        check();
      });
    /** Resolves at the bot's next call of `method` (a handler or a job in the middle of its work). */
    const nextCall = (method: string) =>
      new Promise<boolean>((done) => {
        const on = (e: SandboxEvent) => {
          if (finished) {
            sandbox!.state.events.off("change", on);
            done(false);
          } else if (e.kind === "call" && e.method === method) {
            sandbox!.state.events.off("change", on);
            done(true);
          }
        };
        sandbox!.state.events.on("change", on);
      });

    let kills = 0;
    let midCall = 0;
    const announcer = (async () => {
      await waitForAcks(announceAt);
      for (const a of announced)
        await assignTimepoint(
          db,
          flows,
          "pre",
          { participant: a.code },
          { kind: "cli" },
          { announce: true },
        );
    })();
    const killer = (async () => {
      for (const [k, at] of plan.entries()) {
        await waitForAcks(at);
        if (finished) return;
        const victim = procs[Math.floor(random() * procs.length)]!;
        if (!victim.running) continue;
        if (k % 2 === 1) {
          // In the middle of a handler or a job: the instance has just called Telegram.
          if (!(await nextCall(k % 4 === 1 ? "sendMessage" : "editMessageText"))) return;
          midCall++;
        } else await sleep(randomInt(random, 0, 40));
        // Waits in the chats this instance was serving end; the other instances carry on.
        gate.down();
        gate.open();
        await victim.kill("SIGKILL");
        kills++;
        const down = randomInt(random, 0, 500);
        void (async () => {
          await sleep(down);
          await victim.start();
        })();
      }
    })();

    const results = await Promise.allSettled(families.map((f) => f.run()));
    finished = true;
    for (const wake of progress) wake();
    await killer;
    await announcer;
    for (const p of procs) if (!p.running) await p.start();
    const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    expect(failures, procs.map((p) => p.output.slice(-1500)).join("\n---\n")).toEqual([]);
    const runSeconds = seconds(runStarted);

    // The announcements: every job done (a killed instance's claim taken over after its lease).
    const deadline = Date.now() + 60_000;
    while (
      (await db.job.count({ where: { kind: "announce", doneAt: null } })) > 0 &&
      Date.now() < deadline
    )
      await sleep(200);
    const jobs = await db.job.findMany({ where: { kind: "announce" } });
    expect(jobs).toHaveLength(ANNOUNCED);
    expect(jobs.filter((j) => j.doneAt === null)).toEqual([]);
    expect(jobs.filter((j) => j.lastError !== null).map((j) => j.lastError)).toEqual([]);
    const announcement = botText("sched-reminder-start", { title: "" }).slice(0, 20);
    const perChat = announced.map(
      (a) =>
        [...(sandbox!.state.chats.get(a.chatId)?.messages.values() ?? [])].filter(
          (m) => m.fromBot && (m.message.text ?? "").startsWith(announcement),
        ).length,
    );
    expect(perChat).toEqual(announced.map(() => 1));

    // Every conversation resumes at its exact next step, on whichever instance gets the /resume.
    const resumed = await Promise.all(families.map((f) => f.resumeAt()));
    expect(
      families.flatMap((f, i) => {
        const expected = f.step.kind === "done" ? "nothing" : f.pos;
        return resumed[i] === expected
          ? []
          : [`${f.o.participant}: resumed at ${String(resumed[i])}, expected ${expected}`];
      }),
    ).toEqual([]);
    const order = families.map((f) => chatLog.check(f.user.chatId, f.reader));
    expect(
      order.flatMap((o, i) => o.problems.map((p) => `${families[i]!.o.participant}: ${p}`)),
    ).toEqual([]);

    // Every update Telegram delivered was processed: nothing waits, everything is recorded.
    expect(sandbox.state.updates.pendingCount).toBe(0);
    const processed = new Set(
      (await db.processedUpdate.findMany({ select: { updateId: true } })).map((r) =>
        Number(r.updateId),
      ),
    );
    expect([...pushed].filter((id) => !processed.has(id))).toEqual([]);

    for (const p of procs) expect(await p.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(procs.reduce((n, p) => n + p.unexpected, 0)).toBe(0);
    expect(await checkStore(db)).toEqual([]);
    expect(await checkFamilies(db, flows, families)).toEqual([]);
    const stored = await storeSummary(db);
    const ackedAnswers = families.reduce(
      (n, f) => n + [...f.acked.values()].reduce((m, a) => m + a.size, 0),
      0,
    );
    expect(stored.answers).toBe(ackedAnswers);
    expect(families.flatMap((f) => f.anomalies)).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 20));
    const errorLines = procs.flatMap((p) =>
      p.output.split("\n").filter((l) => /"level":(50|60)/.test(l)),
    );
    expect(errorLines).toEqual([]);

    const sum = (key: keyof Family["stats"]) => families.reduce((n, f) => n + f.stats[key], 0);
    console.log(
      [
        `${INSTANCES} instances on PostgreSQL: ${PARENTS} parents (${families.filter((f) => f.step.kind === "done").length} finished everything), ` +
          `${kills} SIGKILLs (${midCall} in the middle of a call to Telegram), restarts ${procs.reduce((n, p) => n + p.starts, 0) - INSTANCES}, seed ${SEED}`,
        `  steps acknowledged ${acks} of ${totalSteps}; answers stored ${stored.answers} = acknowledged ${ackedAnswers}; ` +
          `updates delivered ${pushed.size}, all processed; deliveries per instance ${[...balancer.forwarded.values()].join("/")}, ` +
          `failed deliveries retried ${redeliveries}`,
        `  announcements: ${ANNOUNCED} jobs, each sent once; audit events ${stored.auditEvents}; ` +
          `presses ${sum("presses")}, re-presses ${sum("repressed")}, /resume ${sum("resumes")}, stalls ${sum("stalls")}`,
        `  time: setup ${setupSeconds} s, run ${runSeconds} s, total ${seconds(started)} s`,
      ].join("\n"),
    );
  }, 1_200_000);
});
