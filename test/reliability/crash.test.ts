// Crash safety: the real bot process (`node bin/start.mjs`) serves many parents through the
// sandbox and is killed with SIGKILL at seeded random moments, then restarted. Afterwards every
// answer the bot acknowledged is stored exactly once, nothing unacknowledged is stored, every
// conversation resumes at its exact next step, and the store is intact.
//
// npm test: 12 parents, 4 stops (3 SIGKILL, 1 SIGTERM) during the traffic, one SIGKILL at rest.
// npm run test:stress: 100 parents, 28 stops (24 SIGKILL, 4 SIGTERM), one SIGKILL at rest.
import { afterEach, describe, expect, it } from "vitest";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import {
  startSandbox,
  type ChatEntry,
  type Sandbox,
  type SandboxEvent,
} from "../../src/sandbox/index.js";
import { t } from "../../src/study/model.js";
import { BotProcess, type ExitRecord } from "../support/bot-process.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows } from "../support/bot.js";
import {
  ChatHub,
  Family,
  Gate,
  familyJourney,
  describe as describeStep,
} from "./support/family.js";
import { checkFamilies, checkStore, storeSummary } from "./support/checks.js";
import { ChatLog } from "./support/order.js";
import {
  SEED,
  STRESS,
  botText,
  counts,
  randomInt,
  seconds,
  seededRandom,
  sleep,
} from "./support/run.js";

const PARENTS = counts(12, 100);
/** Stops of the bot during the traffic (mostly SIGKILL, see KILL_MODES). */
const STOPS = counts(4, 28);
/** Share of parents who answer everything; the others stop at a random step. */
const FINISHERS = counts(0.2, 0.35);
/** Latest step a parent who stops early stops at (quick runs keep them short). */
const PARTIAL_MAX = counts(30, Infinity);

/**
 * Where a kill lands. "timer": a few ms after a seeded point in the traffic. The others strike
 * the moment the bot calls a method, i.e. while a handler waits on Telegram: after an answer
 * was committed and before the question is edited ("edit"), after the next question's nonce
 * was bumped ("send"), with everything done but the toast ("answer"). "-lost": the call never
 * reaches Telegram (its connection drops); otherwise Telegram applies it but the bot never
 * hears back. "sigterm": a graceful stop in the middle of the traffic.
 */
// In order of interest: a quick run with four stops gets the first four.
const KILL_MODES = [
  "edit-lost",
  "timer",
  "send-lost",
  "sigterm",
  "edit",
  "send",
  "answer",
] as const;
type KillMode = (typeof KILL_MODES)[number];
const MODE_METHOD: Record<Exclude<KillMode, "timer" | "sigterm">, string> = {
  edit: "editMessageText",
  "edit-lost": "editMessageText",
  send: "sendMessage",
  "send-lost": "sendMessage",
  answer: "answerCallbackQuery",
};

let tmp: TempDb | undefined;
let sandbox: Sandbox | undefined;
let bot: BotProcess | undefined;

afterEach(async () => {
  await bot?.stop();
  await sandbox?.stop();
  await tmp?.cleanup();
  bot = undefined;
  sandbox = undefined;
  tmp = undefined;
});

describe(`crash safety (${STRESS ? "stress" : "quick"}: ${PARENTS} parents, ${STOPS} stops, seed ${SEED})`, () => {
  it(
    "loses no acknowledged answer, stores nothing twice and resumes every conversation at its exact next step",
    async () => {
      const started = Date.now();
      const flows = shippedFlows();
      const random = seededRandom(SEED);
      tmp = await tempDatabase();
      const db = tmp.db;
      sandbox = await startSandbox({ token: "7000001:CRASH-TEST" });
      const hub = new ChatHub(sandbox);
      const gate = new Gate(hub);
      const chatLog = new ChatLog(sandbox);

      // Setup through the services, on the same SQLite file the bot uses.
      let acks = 0;
      const progress = new Set<() => void>();
      const families: Family[] = [];
      for (let i = 0; i < PARENTS; i++) {
        const code = `CR-${String(i + 1).padStart(3, "0")}`;
        const arm = i % 2 === 0 ? "experimental" : "control";
        await addParticipant(
          db,
          { code, arm, gender: i % 3 ? "female" : "male", ageYears: 5 + (i % 9) },
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
        // Some answer everything; the rest stop somewhere (from "assent shown" on), so the final
        // check also covers half-answered sets and conversations left mid-way.
        const target =
          random() < FINISHERS ? last : randomInt(random, 3, Math.min(last - 1, PARTIAL_MAX));
        const answerSeed = Math.floor(random() * 2 ** 31);
        const choose = (item: { id: string; options: unknown[] }) => {
          const r = seededRandom(answerSeed ^ hash(item.id));
          return Math.floor(r() * item.options.length);
        };
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
            choose,
            patienceMs: counts(30_000, 90_000),
            onAck: () => {
              acks++;
              for (const wake of progress) wake();
            },
          }),
        );
      }
      const totalSteps = families.reduce((n, f) => n + f.o.target, 0);
      const thresholds = Array.from({ length: STOPS }, () =>
        Math.floor((0.04 + 0.76 * random()) * totalSteps),
      ).sort((a, b) => a - b);
      const modeOrder = shuffle(
        thresholds.map((_, i) => KILL_MODES[i % KILL_MODES.length]!),
        random,
      );
      const plan = thresholds.map((at, i) => ({
        at,
        mode: modeOrder[i]!,
        before: randomInt(random, 0, 40),
        down: randomInt(random, 0, 300),
      }));

      bot = new BotProcess({ sandbox, databaseUrl: tmp.url });
      await bot.start();
      gate.open();
      const setupSeconds = seconds(started);
      const runStarted = Date.now();

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
      let kills = 0;
      const modes = new Map<KillMode, number>();
      const graceful: ExitRecord[] = [];
      /** Stops the bot as the plan says; false when the run ended before the moment came. */
      const strike = async (mode: KillMode, before: number): Promise<boolean> => {
        if (mode === "timer" || mode === "sigterm") {
          await sleep(before);
          if (finished) return false;
          gate.down();
          const exit = await bot!.kill(mode === "sigterm" ? "SIGTERM" : "SIGKILL");
          if (mode === "sigterm") graceful.push(exit);
          return true;
        }
        const method = MODE_METHOD[mode];
        if (mode.endsWith("-lost")) sandbox!.failNext(method, { drop: true });
        const events = sandbox!.state.events;
        const hit: { exit?: Promise<ExitRecord> } = {};
        await new Promise<void>((done) => {
          const onCall = (e: SandboxEvent) => {
            if (e.kind !== "call" || e.method !== method) return;
            stop();
            // Synchronously, while the sandbox has the request in hand.
            gate.down();
            hit.exit = bot!.kill("SIGKILL");
            done();
          };
          const onEnd = () => {
            if (!finished) return;
            stop();
            done();
          };
          const stop = () => {
            events.off("change", onCall);
            progress.delete(onEnd);
          };
          events.on("change", onCall);
          progress.add(onEnd);
        });
        if (!hit.exit) {
          if (mode.endsWith("-lost")) sandbox!.state.takeFault(method);
          return false;
        }
        await hit.exit;
        return true;
      };
      const killer = (async () => {
        for (const k of plan) {
          await waitForAcks(k.at);
          if (finished) return;
          if (!(await strike(k.mode, k.before))) return;
          kills++;
          modes.set(k.mode, (modes.get(k.mode) ?? 0) + 1);
          await sleep(k.down);
          await bot!.start();
          gate.open();
        }
      })();

      const results = await Promise.allSettled(families.map((f) => f.run()));
      finished = true;
      for (const wake of progress) wake();
      await killer;
      const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
      expect(failures, bot.log.slice(-3000)).toEqual([]);
      const runSeconds = seconds(runStarted);

      // One more kill at rest: what was acknowledged must survive it too.
      gate.down();
      await bot.kill("SIGKILL");
      kills++;
      await bot.start();
      gate.open();

      // Every conversation resumes at its exact next step (or says nothing is pending).
      const resumed = await Promise.all(families.map((f) => f.resumeAt()));
      const wrongResume = families.flatMap((f, i) => {
        const expected = f.step.kind === "done" ? "nothing" : f.pos;
        return resumed[i] === expected
          ? []
          : [
              `${f.o.participant}: resumed at ${String(resumed[i])}, expected ${expected} (${describeStep(f.step)})`,
            ];
      });
      expect(wrongResume).toEqual([]);
      const order = families.map((f) => chatLog.check(f.user.chatId, f.reader));
      expect(
        order.flatMap((o, i) => o.problems.map((p) => `${families[i]!.o.participant}: ${p}`)),
      ).toEqual([]);

      await bot.stop();
      expect(bot.unexpectedExits).toEqual([]);
      expect(bot.exits.at(-1)).toMatchObject({ code: 0, signal: null });
      for (const exit of graceful) expect(exit).toMatchObject({ code: 0, signal: null });

      expect(await checkStore(db)).toEqual([]);
      expect(await checkFamilies(db, flows, families)).toEqual([]);
      const stored = await storeSummary(db);
      const ackedAnswers = families.reduce(
        (n, f) => n + [...f.acked.values()].reduce((m, a) => m + a.size, 0),
        0,
      );
      expect(stored.answers).toBe(ackedAnswers);

      const sum = (key: keyof Family["stats"]) => families.reduce((n, f) => n + f.stats[key], 0);
      // Lost updates outside a kill, or the error boundary answering, would be bugs: none.
      expect(families.flatMap((f) => f.stallNotes)).toEqual([]);
      expect(sum("errorMessages")).toBe(0);
      expect(kills).toBe(STOPS + 1);
      const sigkills = kills - graceful.length;
      // The issue asks for at least 20 SIGKILLs at random moments; the quick run does a few.
      expect(sigkills).toBeGreaterThanOrEqual(counts(4, 20));
      const botErrors = bot.log.split("\n").filter((l) => /"level":(50|60)/.test(l));
      expect(botErrors).toEqual([]);

      console.log(
        [
          `crash safety: ${PARENTS} parents (${families.filter((f) => f.step.kind === "done").length} finished everything), ` +
            `${kills} stops: ${sigkills} SIGKILL and ${graceful.length} SIGTERM (during traffic: ${[...modes].map(([m, n]) => `${m} ${n}`).join(", ")}; one SIGKILL at rest), seed ${SEED}`,
          `  steps acknowledged ${acks} of ${totalSteps}; answers stored ${stored.answers} = acknowledged ${ackedAnswers}; ` +
            `response sets ${stored.responseSets}; audit events ${stored.auditEvents}; processed updates ${stored.processedUpdates}`,
          `  presses ${sum("presses")} (same button again after a kill ${sum("repressed")}), /resume ${sum("resumes")}, ` +
            `stale toasts ${sum("staleToasts")}, waits cut by a kill ${sum("interrupted")}, stalls ${sum("stalls")}, ` +
            `questions shown again ${order.reduce((n, o) => n + o.repeats, 0)}`,
          `  getUpdates ${sandbox.calls.filter((c) => c.method === "getUpdates").length}, sendMessage ${sandbox.calls.filter((c) => c.method === "sendMessage").length}, ` +
            `editMessageText ${sandbox.calls.filter((c) => c.method === "editMessageText").length}`,
          `  time: setup ${setupSeconds} s, run ${runSeconds} s, total ${seconds(started)} s`,
        ].join("\n"),
      );
    },
    counts(120_000, 900_000),
  );

  it("a press stored just before a kill is refused when pressed again, not applied to the next question", async () => {
    const flows = shippedFlows();
    tmp = await tempDatabase();
    sandbox = await startSandbox({ token: "7000002:CRASH-WINDOW" });
    await addParticipant(
      tmp.db,
      { code: "CW-001", arm: "control", gender: "female", ageYears: 9 },
      { kind: "cli" },
    );
    const invite = (
      await createInvite(
        tmp.db,
        { role: "parent", participantCode: "CW-001", ttlHours: 24 },
        { kind: "cli" },
      )
    ).code;
    bot = new BotProcess({ sandbox, databaseUrl: tmp.url });
    await bot.start();
    const parent = sandbox.createUser({ firstName: "Window", languageCode: "en" });
    const question = (n: number) => (m: ChatEntry) =>
      m.buttons.length > 0 && m.text?.split("\n")[0]?.endsWith(` · ${n}/23`) === true;
    parent.sendText(`/start ${invite}`);
    parent.press(await parent.waitForBotMessage(), botText("consent-agree"));
    parent.press(
      await parent.waitForBotMessage((m) => m.buttons.length > 0),
      botText("assent-agree"),
    );
    const qol = flows.instruments.get("qol-proxy")!;
    const label = (i: number) =>
      t(qol.items[i]!.options[i % qol.items[i]!.options.length]!.label, "en");
    parent.press(await parent.waitForBotMessage(question(1)), label(0));
    const second = await parent.waitForBotMessage(question(2));

    // The answer to item 2 commits; the edit that would show it never reaches Telegram, and the
    // bot dies while waiting for it.
    sandbox.failNext("editMessageText", { drop: true });
    const killed = new Promise<Promise<ExitRecord>>((done) => {
      const onCall = (e: SandboxEvent) => {
        if (e.kind !== "call" || e.method !== "editMessageText") return;
        sandbox!.state.events.off("change", onCall);
        done(bot!.kill("SIGKILL"));
      };
      sandbox!.state.events.on("change", onCall);
    });
    parent.press(second, label(1));
    await killed;
    await bot.start();

    // The question still shows its buttons, so the parent presses again: refused as stale,
    // because the answer it would give is already stored.
    expect(
      parent.messages().find((m) => m.messageId === second.messageId)?.buttons.length,
    ).toBeGreaterThan(0);
    const again = parent.press(second, label(1));
    expect((await again.waitForAnswer()).text).toBe(botText("toast-stale"));
    parent.sendText("/resume");
    const third = await parent.waitForBotMessage((m) => m.buttons.length > 0);
    expect(third.text?.split("\n")[0]).toMatch(/ · 3\/23$/);

    const answers = await tmp.db.answer.findMany({ orderBy: { itemId: "asc" } });
    const value = (i: number) => qol.items[i]!.options[i % qol.items[i]!.options.length]!.value;
    expect(answers.map((a) => [a.itemId, a.value])).toEqual(
      [
        [qol.items[0]!.id, value(0)],
        [qol.items[1]!.id, value(1)],
      ].sort(),
    );
    expect(
      await tmp.db.auditEvent.count({
        where: { action: { in: ["answer.save", "answer.correct"] } },
      }),
    ).toBe(2);
    await bot.stop();
    expect(bot.unexpectedExits).toEqual([]);
  });
});

function shuffle<T>(list: T[], random: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
