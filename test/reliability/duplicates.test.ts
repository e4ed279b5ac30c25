// Duplicate delivery: Telegram delivers at least once. The same scripted families are played
// through the real bot (in-process, fake Bot API) once cleanly and then with every update
// delivered twice — one after the other, both at once (a webhook retried while the first
// request still runs), or redelivered later, out of order, after newer updates of the chat —
// and with every button double-tapped (a second, distinct update for the same button). Each
// run must leave the same database and send exactly the same messages and edits as the clean run.
import { describe, expect, it } from "vitest";
import type { Update } from "grammy/types";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { makeTestBot, shippedFlows } from "../support/bot.js";
import { tempDatabase } from "../support/db.js";
import type { FakeUser } from "../support/fake-telegram.js";
import { familyJourney, StepReader } from "./support/family.js";
import { checkStore } from "./support/checks.js";
import { SEED, STRESS, counts, randomInt, seededRandom } from "./support/run.js";

const FAMILIES = counts(3, 12);
/** Most families stop part-way in quick runs; in stress runs everyone answers everything. */
const PARTIAL = counts(true, false);

type Mode = "clean" | "twice" | "concurrent" | "late" | "double-tap";

interface RunResult {
  /** Per family: the chat as the user sees it, message by message, with edit counts. */
  chats: string[][];
  /** Bot API calls that change what users see, by method. */
  visibleCalls: Record<string, number>;
  /** Callback queries answered successfully (each exactly once). */
  answeredQueries: number;
  queries: number;
  db: {
    answers: string[];
    consents: string[];
    sets: string[];
    audit: Record<string, number>;
    processed: number;
  };
  steps: number;
  deliveries: number;
  distinctUpdates: number;
  storeProblems: string[];
}

const VISIBLE = [
  "sendMessage",
  "editMessageText",
  "editMessageReplyMarkup",
  "deleteMessage",
  "setMyCommands",
  "sendDocument",
  "sendPhoto",
];

async function play(mode: Mode): Promise<RunResult> {
  const flows = shippedFlows();
  const tmp = await tempDatabase();
  const tb = makeTestBot(tmp.db, tmp.url);
  // Only the redelivery schedule is random per mode; answers are the same in every run.
  const random = seededRandom(SEED + mode.length);
  let deliveries = 0;
  const updateIds = new Set<number>();
  const queryIds = new Set<string>();
  try {
    const families = [];
    for (let i = 0; i < FAMILIES; i++) {
      const code = `DU-${String(i + 1).padStart(3, "0")}`;
      const arm = i % 2 ? "control" : "experimental";
      await addParticipant(
        tmp.db,
        { code, arm, gender: "female", ageYears: 7 + i },
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
      const last = journey.length - 1;
      const target = PARTIAL && i > 0 ? 12 + 9 * i : last;
      families.push({
        user: tb.user(880_000 + i),
        invite,
        reader: new StepReader(journey),
        journey,
        target,
        history: [] as Update[],
        pos: 0,
        actions: 0,
      });
    }

    const deliver = async (user: FakeUser, history: Update[], update: Update) => {
      const once = async (u: Update) => {
        deliveries++;
        updateIds.add(u.update_id);
        if (u.callback_query) queryIds.add(u.callback_query.id);
        await user.deliver(u);
      };
      switch (mode) {
        case "clean":
          await once(update);
          break;
        case "twice":
          await once(update);
          await once(update);
          break;
        case "concurrent":
          await Promise.all([once(update), once(update)]);
          break;
        case "late":
          await once(update);
          // Telegram redelivers what it thinks unconfirmed: an older update of this chat,
          // after newer ones were handled.
          if (history.length > 0 && random() < 0.6)
            await once(history[randomInt(random, 0, history.length - 1)]!);
          break;
        case "double-tap": {
          await once(update);
          const q = update.callback_query;
          if (q) {
            const message = user.tg
              .messages(user.id)
              .find((m) => m.messageId === q.message?.message_id);
            if (message) await once(user.pressUpdate(message, q.data!));
          }
          break;
        }
      }
      history.push(update);
    };

    // All families act in rounds, concurrently, like a busy evening.
    const choose = (item: { id: string; options: unknown[] }) =>
      (item.id.length * 7 + item.id.charCodeAt(item.id.length - 1)) % item.options.length;
    let active = families;
    while (active.length) {
      await Promise.all(
        active.map(async (f) => {
          f.actions++;
          if (f.actions > 400) throw new Error(`family ${f.invite} is stuck at step ${f.pos}`);
          if (f.pos === 0) {
            await deliver(f.user, f.history, f.user.textUpdate(`/start ${f.invite}`));
            f.pos = 1;
            return;
          }
          // A command now and then: /status and /resume write nothing but send messages.
          if (f.actions % 9 === 0) {
            await deliver(
              f.user,
              f.history,
              f.user.textUpdate(f.actions % 18 === 0 ? "/resume" : "/status"),
            );
            return;
          }
          const current = f.user.tg.withButtons(f.user.id).at(-1);
          const read = current ? f.reader.read(current.text) : undefined;
          if (!current || !read || !("index" in read))
            throw new Error(
              `family ${f.invite}: no question to answer at step ${f.pos} (${JSON.stringify(read)})`,
            );
          f.pos = read.index;
          if (f.pos >= f.target) return;
          const step = f.journey[f.pos]!;
          const label = StepReader.label(step, choose);
          const data = f.user.button(current, label);
          await deliver(f.user, f.history, f.user.pressUpdate(current, data));
        }),
      );
      active = families.filter((f) => {
        const current = f.user.tg.withButtons(f.user.id).at(-1);
        const read = current ? f.reader.read(current.text) : undefined;
        return read && "index" in read ? read.index < f.target : false;
      });
    }
    if (mode === "late") {
      // And at the end, the whole history again, newest first.
      for (const f of families)
        for (const u of [...f.history].reverse()) await deliver(f.user, [], u);
    }

    const tg = families[0]!.user.tg;
    const visibleCalls: Record<string, number> = {};
    for (const c of tg.calls)
      if (VISIBLE.includes(c.method)) visibleCalls[c.method] = (visibleCalls[c.method] ?? 0) + 1;
    const rejected = new Set(tg.rejections.map((r) => r.payload));
    const answered = tg.calls.filter(
      (c) => c.method === "answerCallbackQuery" && !rejected.has(c.payload),
    );
    const answeredIds = answered.map((c) => String(c.payload.callback_query_id));
    const audit: Record<string, number> = {};
    for (const e of await tmp.db.auditEvent.findMany({ where: { actor: "account" } }))
      audit[e.action] = (audit[e.action] ?? 0) + 1;
    const participants = await tmp.db.participant.findMany({
      include: { responseSets: { include: { answers: true } }, consents: true },
      orderBy: { code: "asc" },
    });
    return {
      chats: families.map((f) =>
        f.user.messages().map(
          (m) =>
            `${m.text} [${m.keyboard
              .flat()
              .map((b) => b.text)
              .join("|")}] ×${m.edits}`,
        ),
      ),
      visibleCalls,
      answeredQueries: new Set(answeredIds).size,
      queries: queryIds.size,
      db: {
        answers: participants
          .flatMap((p) =>
            p.responseSets.flatMap((rs) =>
              rs.answers.map((a) => `${p.code} ${rs.instrumentId} ${a.itemId}=${a.value}`),
            ),
          )
          .sort(),
        consents: participants
          .flatMap((p) => p.consents.map((c) => `${p.code} ${c.kind} ${c.decision}`))
          .sort(),
        sets: participants
          .flatMap((p) =>
            p.responseSets.map(
              (rs) => `${p.code} ${rs.instrumentId} ${rs.status} ${rs.answers.length}`,
            ),
          )
          .sort(),
        audit,
        processed: await tmp.db.processedUpdate.count(),
      },
      steps: families.reduce((n, f) => n + f.pos, 0),
      deliveries,
      distinctUpdates: updateIds.size,
      storeProblems: await checkStore(tmp.db),
    };
  } finally {
    await tmp.cleanup();
  }
}

let clean: Promise<RunResult> | undefined;
const cleanRun = () => (clean ??= play("clean"));

describe(`duplicate delivery (${STRESS ? "stress" : "quick"}: ${FAMILIES} families)`, () => {
  it("the clean run answers every callback query once and records every update", async () => {
    const r = await cleanRun();
    expect(r.storeProblems).toEqual([]);
    expect(r.answeredQueries).toBe(r.queries);
    expect(r.db.processed).toBe(r.distinctUpdates);
    expect(r.db.answers.length).toBeGreaterThan(FAMILIES * 10);
    expect(r.chats.every((c) => c.length > 0)).toBe(true);
  });

  for (const mode of ["twice", "concurrent", "late", "double-tap"] as const) {
    it(`every update ${describeMode(mode)}: same rows, same messages as the clean run`, async () => {
      const base = await cleanRun();
      const r = await play(mode);
      expect(r.storeProblems).toEqual([]);
      expect(r.deliveries).toBeGreaterThan(base.deliveries);
      // Nothing stored twice, nothing missing.
      expect(r.db.answers).toEqual(base.db.answers);
      expect(r.db.consents).toEqual(base.db.consents);
      expect(r.db.sets).toEqual(base.db.sets);
      expect(r.db.audit).toEqual(base.db.audit);
      // No double message, no extra edit: the chats read exactly the same.
      expect(r.visibleCalls).toEqual(base.visibleCalls);
      expect(r.chats).toEqual(base.chats);
      // Every press got its answer (duplicates are answered too, the extra answer is refused
      // by Telegram as already answered).
      expect(r.answeredQueries).toBe(r.queries);
      if (mode === "double-tap") expect(r.db.processed).toBe(r.distinctUpdates);
      else expect(r.db.processed).toBe(base.db.processed);
      console.log(
        `duplicates (${mode}): ${r.deliveries} deliveries of ${r.distinctUpdates} updates (clean: ${base.deliveries}); ` +
          `${r.db.answers.length} answers, ${r.visibleCalls.sendMessage ?? 0} sendMessage, ${r.visibleCalls.editMessageText ?? 0} editMessageText — identical to the clean run`,
      );
    });
  }
});

function describeMode(mode: Exclude<Mode, "clean">): string {
  switch (mode) {
    case "twice":
      return "delivered twice in a row";
    case "concurrent":
      return "delivered twice at the same time";
    case "late":
      return "redelivered later, out of order within its chat";
    case "double-tap":
      return "button pressed twice (two distinct updates)";
  }
}
