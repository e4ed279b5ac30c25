// Telegram faults: the real bot process answers parents through the sandbox while the sandbox
// fails some of its calls — 429 with retry_after, 500/502, a dropped connection before the
// method ran, and one dropped after it ran (Telegram did it, the reply was lost). The bot must
// retry (autoRetry: retry_after for 429, backoff for 5xx and network errors), lose nothing, keep
// the order of each chat, and stay up.
//
// npm test: 4 parents, 9 faults. npm run test:stress: 16 parents answering everything, 40 faults.
import { afterEach, describe, expect, it } from "vitest";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { startSandbox, type Fault, type Sandbox } from "../../src/sandbox/index.js";
import { BotProcess } from "../support/bot-process.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows } from "../support/bot.js";
import { ChatHub, Family, Gate, familyJourney } from "./support/family.js";
import { checkFamilies, checkStore } from "./support/checks.js";
import { ChatLog } from "./support/order.js";
import { SEED, STRESS, counts, randomInt, seconds, seededRandom } from "./support/run.js";

const FAMILIES = counts(4, 16);

interface PlannedFault {
  method: string;
  fault: Fault;
  count: number;
  /** Inject before the traffic starts (for calls only made at enrolment). */
  early?: boolean;
}

const f = (method: string, fault: Fault, count = 1, early = false): PlannedFault => ({
  method,
  fault,
  count,
  early,
});

/** One of each kind on the calls a parent's answer makes, and on the polling itself. */
const BASIC: PlannedFault[] = [
  f("sendMessage", { code: 429, retryAfter: 1 }),
  f("editMessageText", { code: 500 }),
  f("sendMessage", { drop: true }),
  f("editMessageText", { drop: true, after: true }),
  f("sendMessage", { drop: true, after: true }),
  f("answerCallbackQuery", { code: 502 }),
  f("getUpdates", { code: 500 }),
  f("getUpdates", { drop: true, after: true }),
  f("editMessageText", { code: 429, retryAfter: 1 }),
];

/** Stress adds repeats, bursts (several failures of the same call in a row) and "any method". */
const EXTRA: PlannedFault[] = [
  ...BASIC,
  ...BASIC,
  f("sendMessage", { code: 429, retryAfter: 2 }, 3),
  f("editMessageText", { code: 502 }, 2),
  f("*", { code: 500 }, 2),
  f("*", { drop: true }),
  f("answerCallbackQuery", { drop: true, after: true }),
  f("editMessageReplyMarkup", { drop: true }),
  // The commands menu is set once per parent, at enrolment.
  f("setMyCommands", { code: 429, retryAfter: 1 }, 1, true),
  f("getUpdates", { code: 429, retryAfter: 1 }),
];

const PLAN = counts(BASIC, [...BASIC, ...EXTRA]);

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

describe(`Telegram faults (${STRESS ? "stress" : "quick"}: ${FAMILIES} parents, ${PLAN.reduce((n, p) => n + p.count, 0)} faults, seed ${SEED})`, () => {
  it(
    "retries 429, 5xx and dropped connections: nothing lost, order kept, the bot stays up",
    async () => {
      const started = Date.now();
      const flows = shippedFlows();
      const random = seededRandom(SEED + 7);
      tmp = await tempDatabase();
      sandbox = await startSandbox({ token: "7000003:FAULTS" });
      const hub = new ChatHub(sandbox);
      const gate = new Gate(hub);
      const chatLog = new ChatLog(sandbox);

      let acks = 0;
      const families: Family[] = [];
      for (let i = 0; i < FAMILIES; i++) {
        const code = `FT-${String(i + 1).padStart(3, "0")}`;
        const arm = i % 2 ? "control" : "experimental";
        await addParticipant(
          tmp.db,
          { code, arm, gender: "male", ageYears: 6 + i },
          { kind: "cli" },
        );
        const invite = (
          await createInvite(
            tmp.db,
            { role: "parent", participantCode: code, ttlHours: 24 },
            { kind: "cli" },
          )
        ).code;
        const journey = familyJourney(flows, arm);
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
            target: STRESS ? journey.length - 1 : randomInt(random, 18, 26),
            choose: (item) =>
              (answerSeed + item.id.length * 3 + item.id.charCodeAt(0)) % item.options.length,
            // Longer than the longest backoff a burst can cause (3 + 6 + 12 s).
            patienceMs: 60_000,
            onAck: () => {
              acks++;
              inject();
            },
          }),
        );
      }
      const totalSteps = families.reduce((n, x) => n + x.o.target, 0);
      // Faults go in at seeded points in the first three quarters of the traffic.
      const schedule = PLAN.map((p) => ({
        ...p,
        at: p.early ? 0 : Math.floor((0.05 + 0.7 * random()) * totalSteps),
      })).sort((a, b) => a.at - b.at);
      let next = 0;
      const inject = () => {
        while (next < schedule.length && acks >= schedule[next]!.at) {
          const s = schedule[next++]!;
          sandbox!.failNext(s.method, s.fault, s.count);
        }
      };

      bot = new BotProcess({ sandbox, databaseUrl: tmp.url });
      await bot.start();
      inject();
      gate.open();
      const results = await Promise.allSettled(families.map((x) => x.run()));
      expect(
        results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : [])),
        bot.log.slice(-3000),
      ).toEqual([]);
      expect(next).toBe(schedule.length);

      // Every conversation resumes at its exact next step (this also flushes any fault left).
      const resumed = await Promise.all(families.map((x) => x.resumeAt()));
      expect(resumed).toEqual(families.map((x) => (x.step.kind === "done" ? "nothing" : x.pos)));

      // Every planned fault was applied, and every failed call was made again until it went through.
      const injected = sandbox.rejections.filter((r) => r.injected);
      expect(injected.length).toBe(PLAN.reduce((n, p) => n + p.count, 0));
      const retryDelays = new Map<string, number[]>();
      const notRetried: string[] = [];
      for (const r of injected) {
        const same = JSON.stringify(r.params);
        const dropped = r.code === 0;
        // A retry that goes through; after a dropped reply, Telegram may refuse the repeat
        // because the first one already took effect (edit not modified, query already answered).
        const retry = sandbox.calls.find(
          (c) =>
            c.at >= r.at &&
            c.method === r.method &&
            JSON.stringify(c.params) === same &&
            (c.outcome?.ok === true ||
              (dropped && c.outcome?.ok === false && c.outcome.code === 400)),
        );
        const kind = dropped ? "dropped" : String(r.code);
        if (!retry) notRetried.push(`${r.method} ${kind}`);
        else
          retryDelays.set(kind, [
            ...(retryDelays.get(kind) ?? []),
            retry.at.getTime() - r.at.getTime(),
          ]);
      }
      expect(notRetried).toEqual([]);

      await bot.stop();
      expect(bot.unexpectedExits).toEqual([]);
      expect(bot.starts).toBe(1);
      expect(bot.log.split("\n").filter((l) => /"level":(50|60)/.test(l))).toEqual([]);

      expect(await checkStore(tmp.db)).toEqual([]);
      expect(await checkFamilies(tmp.db, flows, families)).toEqual([]);
      const order = families.map((x) => chatLog.check(x.user.chatId, x.reader));
      expect(
        order.flatMap((o, i) => o.problems.map((p) => `${families[i]!.o.participant}: ${p}`)),
      ).toEqual([]);
      const sum = (key: keyof Family["stats"]) => families.reduce((n, x) => n + x.stats[key], 0);
      expect(families.flatMap((x) => x.stallNotes)).toEqual([]);
      expect(sum("errorMessages")).toBe(0);

      // A send whose reply was lost is sent again: Telegram offers no idempotency key, so the
      // user may see that question twice (the copy's buttons are refused as stale). Nothing else
      // may repeat a question.
      const lostSendReplies = injected.filter(
        (r) => r.method === "sendMessage" && r.code === 0,
      ).length;
      const repeats = order.reduce((n, o) => n + o.repeats, 0);
      // (Each /resume shows the current question again, including the final check above.)
      expect(repeats).toBeLessThanOrEqual(lostSendReplies + sum("resumes"));
      const resumes = sum("resumes") - families.length;

      const delays = [...retryDelays]
        .map(([k, v]) => `${k}: ${v.length}× after ${Math.min(...v)}–${Math.max(...v)} ms`)
        .join("; ");
      console.log(
        [
          `Telegram faults: ${FAMILIES} parents, ${acks} steps acknowledged, ${injected.length} injected failures, all retried`,
          `  retries (first success after the failure): ${delays}`,
          `  presses ${sum("presses")}, stale toasts ${sum("staleToasts")}, /resume ${resumes}, questions shown again ${repeats} (incl. the final /resume each)`,
          `  time ${seconds(started)} s`,
        ].join("\n"),
      );
    },
    counts(90_000, 900_000),
  );
});
