// Fuzzing the whole bot: seeded random and malformed updates from enrolled parents in the middle
// of their questionnaires, facilitators, a researcher, an admin, strangers, groups and a channel.
// Nothing may throw, reject unhandled or log an error; every call the bot makes must pass the fake
// Bot API's Telegram validation; every callback query is answered; and batches of only invalid
// input leave the research data exactly as it was. `npm run test:stress` runs 10,000 updates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Chat, Update } from "grammy/types";
import {
  openStudy,
  enrolParent,
  enrolStaff,
  consentBoth,
  answerAll,
  logSession,
  type Study,
} from "./study.js";
import {
  Person,
  UpdateFuzzer,
  researchSnapshot,
  type FuzzActor,
  type FuzzCase,
  type FuzzMode,
} from "../support/fuzz.js";
import { deliverOutbox } from "../telegram/facilitator-support.js";

const STRESS = Boolean(process.env.STRESS);
const TOTAL = STRESS ? 10_000 : 1_000;
const BATCH = 50;
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_301);

let study: Study;
let fuzzer: UpdateFuzzer;
/** Group Alpha's first family (pre-test done, session questionnaire waiting) and facilitator. */
let ana: Person;
let facA: Person;
let rita: Person;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

const CHATS: Chat[] = [
  { id: -4001, type: "group", title: "Ward 3 parents" } as Chat,
  { id: -1002003004005, type: "supergroup", title: "Circle staff" } as Chat,
  { id: -1009008007006, type: "channel", title: "Announcements" } as Chat,
];

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  study = await openStudy();
  const p = (id: number, firstName: string, languageCode = "en") =>
    study.person({ id, firstName, username: `u${id}`, languageCode });

  // Group Alpha: three consented families (one done with the pre-test, one a few items in) and
  // one still at consent; Beta: one consented, one declined; one control family without a group.
  const parents = [
    p(3101, "Ana"),
    p(3102, "Bo", "zh"),
    p(3103, "Cai"),
    p(3104, "Dee"),
    p(3201, "Eli"),
    p(3202, "Fay"),
    p(3301, "Gus", "de"),
  ];
  const fA = p(3501, "Fac A");
  const fB = p(3502, "Fac B");
  const fNone = p(3503, "Fac none");
  await enrolStaff(study, fA, "facilitator", "Alpha");
  await enrolStaff(study, fB, "facilitator", "Beta");
  await enrolStaff(study, fNone, "facilitator");
  await enrolParent(study, parents[0]!, { code: "FZ-A1", group: "Alpha" });
  await enrolParent(study, parents[1]!, { code: "FZ-A2", group: "Alpha", gender: "male" });
  await enrolParent(study, parents[2]!, { code: "FZ-A3", group: "Alpha" });
  await enrolParent(study, parents[3]!, { code: "FZ-A4", group: "Alpha" });
  await enrolParent(study, parents[4]!, { code: "FZ-B1", group: "Beta" });
  await enrolParent(study, parents[5]!, { code: "FZ-B2", group: "Beta" });
  await enrolParent(study, parents[6]!, { code: "FZ-C1", arm: "control" });
  for (const i of [0, 1, 2, 4, 6]) await consentBoth(parents[i]!);
  await parents[5]!.press("I do not agree");
  // One family finishes the pre-test so the questionnaire after session 1 reaches it at once.
  await answerAll(parents[0]!);
  for (let i = 0; i < 5; i++) await parents[1]!.press((t) => !/Back|Pause|Skip/.test(t));
  await logSession(fA);
  // The close's outbox jobs go out (the bot process's scheduler does this right after the commit).
  await deliverOutbox(study);
  ana = parents[0]!;
  facA = fA;

  const researcher = p(3601, "Rita");
  const admin = p(3602, "Adam");
  await enrolStaff(study, researcher, "researcher");
  await enrolStaff(study, admin, "admin");
  rita = researcher;

  const actors: FuzzActor[] = [
    ...parents.map((person) => ({ person, role: "parent" as const })),
    { person: fA, role: "facilitator" },
    { person: fB, role: "facilitator" },
    { person: fNone, role: "facilitator" },
    { person: researcher, role: "researcher" },
    { person: admin, role: "admin" },
    { person: p(3901, "Stranger one"), role: "stranger" },
    { person: p(3902, "مجهول", "ar"), role: "stranger" },
    { person: p(3903, "Nobody", "xx-YY"), role: "stranger" },
  ];
  const codes = (await study.db.participant.findMany()).map((x) => x.code);
  fuzzer = new UpdateFuzzer({
    seed: SEED,
    tg: study.tg,
    actors,
    chats: CHATS,
    knownWords: [...codes, ...study.services.flows.instrumentList.map((i) => i.id)],
  });
  fuzzer.observe();
}, 120_000);

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await study?.close();
});

interface Failure {
  kind: string;
  update: Update;
  error: string;
}

let longestText = 0;

async function deliver(c: FuzzCase, failures: Failure[]): Promise<void> {
  const m = c.update.message ?? c.update.edited_message ?? c.update.channel_post;
  longestText = Math.max(longestText, (m?.text ?? m?.caption ?? "").length);
  try {
    await study.bot.handleUpdate(c.update);
  } catch (e) {
    failures.push({
      kind: c.kind,
      update: c.update,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
  }
  fuzzer.observe();
}

/** Lone UTF-16 surrogates in anything the bot sent (Telegram refuses text that is not UTF-8). */
function brokenTexts(from = 0): string[] {
  return study.tg.calls
    .slice(from)
    .flatMap((c) => [
      c.payload.text,
      c.payload.caption,
      JSON.stringify(c.payload.reply_markup ?? ""),
    ])
    .filter((t): t is string => typeof t === "string" && /\p{Cs}/u.test(t));
}

describe("long emoji-laden text echoed back by the bot", () => {
  // The generator's random texts rarely put an emoji exactly where the bot cuts a text; these do.
  const LONG = `${"a".repeat(298)}😀${"b".repeat(3700)}😀😀😀`;

  it("a typed answer full of emoji is echoed with well-formed text; one over the limit is refused", async () => {
    const from = study.tg.calls.length;
    for (let i = 0; i < 20; i++) {
      const cur = ana.current();
      if (!cur.keyboard.flat().some((b) => b.text === "Skip"))
        await ana.press((t) => /^\d/.test(t), cur);
      else break;
    }
    await ana.send(`x${LONG}`);
    expect(ana.last().text).toMatch(/up to 2000 characters/);
    const answers = await study.db.answer.count();
    await ana.send(`x${"😀".repeat(999)}`);
    expect(await study.db.answer.count()).toBe(answers + 1);
    expect(study.log.entries().filter((e) => e.level >= 40)).toEqual([]);
    expect(brokenTexts(from)).toEqual([]);
    expect(study.tg.rejections).toEqual([]);
  });

  it("a note whose preview is cut next to an emoji is shown with well-formed text", async () => {
    const from = study.tg.calls.length;
    await facA.send(`/note FZ-A1 ${LONG}`);
    expect(facA.last().text).toMatch(/FZ-A1/);
    expect(brokenTexts(from)).toEqual([]);
    await facA.press("✖ Cancel", facA.current());
  });

  it("a report request naming a 4,000-character instrument is refused with well-formed text", async () => {
    const from = study.tg.calls.length;
    // The error line is cut at 4,000 characters, where this id has an emoji.
    await rita.send(`/report ${"a".repeat(3979)}${"😀".repeat(10)}`);
    expect(rita.last().text).toMatch(/Instruments:/);
    expect(brokenTexts(from)).toEqual([]);
  });
});

describe(`fuzzing the bot with ${TOTAL} seeded updates`, () => {
  it(
    "survives everything, answers every callback, passes Telegram's validation, and invalid input changes nothing",
    async () => {
      const failures: Failure[] = [];
      const stateChanges: { batch: number; kinds: string[]; before: string; after: string }[] = [];
      const callbacks = new Set<string>();
      const started = Date.now();
      let sent = 0;
      for (let batch = 0; sent < TOTAL; batch++) {
        const mode: FuzzMode = batch % 2 === 0 ? "invalid" : "any";
        const before = mode === "invalid" ? await researchSnapshot(study.db) : "";
        const kinds: string[] = [];
        for (let i = 0; i < BATCH && sent < TOTAL; i++, sent++) {
          const c = fuzzer.next(mode);
          kinds.push(c.kind);
          if (c.update.callback_query) callbacks.add(c.update.callback_query.id);
          await deliver(c, failures);
        }
        if (mode === "invalid") {
          const after = await researchSnapshot(study.db);
          if (after !== before) stateChanges.push({ batch, kinds, before, after });
        }
      }
      const ms = Date.now() - started;

      expect.soft(failures).toEqual([]);
      expect.soft(unhandled).toEqual([]);
      // Nothing went wrong inside either (the error boundary would have hidden it from the caller).
      expect.soft(study.log.entries().filter((e) => e.level >= 40)).toEqual([]);
      // Telegram refuses a second answer to a query; that only happens for a redelivered update.
      const rejections = study.tg.rejections.filter(
        (r) =>
          !(
            r.method === "answerCallbackQuery" &&
            fuzzer.redeliveredQueries.has(String(r.payload.callback_query_id))
          ),
      );
      expect
        .soft(rejections.map((r) => ({ method: r.method, description: r.description })))
        .toEqual([]);
      // Every text and button the bot sent is well-formed UTF-16 (Telegram rejects broken UTF-8).
      expect.soft(brokenTexts().map((t) => t.slice(0, 80))).toEqual([]);
      // Every callback query got exactly one answer.
      const answered = new Set(
        study.tg.callsOf("answerCallbackQuery").map((c) => String(c.payload.callback_query_id)),
      );
      expect.soft([...callbacks].filter((id) => !answered.has(id))).toEqual([]);
      // No state change from invalid input; on failure show the first differing lines.
      expect
        .soft(
          stateChanges.map((s) => ({
            batch: s.batch,
            kinds: [...new Set(s.kinds)].sort(),
            diff: firstDiff(s.before, s.after),
          })),
        )
        .toEqual([]);

      // The run really covered the space (and the valid half moved the study on).
      const counts = fuzzer.counts;
      for (const k of [
        "text",
        "command",
        "edited",
        "press-forged",
        "press-truncated",
        "press-replayed",
        "press-other-chat",
        "press-valid",
        "redelivery",
        "channel",
      ]) {
        expect(counts.get(k) ?? 0, k).toBeGreaterThan(0);
      }
      expect([...counts.keys()].filter((k) => k.startsWith("media:")).length).toBeGreaterThan(5);
      expect([...counts.keys()].filter((k) => k.startsWith("group:")).length).toBe(2);
      expect(await study.db.answer.count()).toBeGreaterThan(0);
      expect(longestText).toBeGreaterThan(4096);
      if (STRESS) {
        const summary = [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k}=${n}`)
          .join(" ");
        const db = study.db;
        const reached = `answers=${await db.answer.count()} complete=${await db.responseSet.count({ where: { status: "complete" } })} closedSessions=${await db.groupSession.count({ where: { status: "closed" } })} notes=${await db.note.count()} withdrawn=${await db.participant.count({ where: { status: "withdrawn" } })}`;
        console.log(`fuzz: ${reached}`);
        console.log(
          `fuzz: ${TOTAL} updates in ${(ms / 1000).toFixed(1)} s (${(ms / TOTAL).toFixed(1)} ms each); ${summary}`,
        );
      }
    },
    STRESS ? 1_800_000 : 300_000,
  );
});

function firstDiff(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i])
      return `line ${i}: ${x.slice(Math.max(0, i - 6), i + 3).join("\n")}\n--- became ---\n${y.slice(Math.max(0, i - 6), i + 3).join("\n")}`;
  }
  return "";
}
