// Shared setup for the facilitator tests: a bot with the facilitator feature over a real SQLite
// file, families enrolled and consented through the bot, a facilitator enrolled by invite.
import { openDatabase } from "../../src/db/client.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { createGroup } from "../../src/usecases/groups.js";
import { facilitatorFeature } from "../../src/telegram/features/facilitator.js";
import { tick, type TickReport } from "../../src/scheduler/loop.js";
import { notifyDeps } from "../../src/telegram/outbound.js";
import { SendPacer } from "../../src/notify/pacer.js";
import { systemClock } from "../../src/scheduler/clock.js";
import { makeTestBot, type TestBot } from "../support/bot.js";
import type { FakeMessage, FakeUser } from "../support/fake-telegram.js";

/** A fixed "now" (10:00 UTC) so dates in buttons are known; the study zone defaults to UTC. */
export const NOW = new Date("2026-12-01T10:00:00Z");
export const TODAY = "2026-12-01";

export function facilitatorBot(
  db: TestBot["db"],
  url: string,
  opts: { tg?: TestBot["tg"]; now?: () => Date } = {},
): TestBot {
  return makeTestBot(db, url, {
    ...opts,
    now: opts.now ?? (() => NOW),
    features: [facilitatorFeature],
  });
}

/** A process restart that keeps the facilitator feature (support/bot.ts restart() starts the parent journey only). */
export async function restartFacilitatorBot(
  old: TestBot,
  url: string,
  now?: () => Date,
): Promise<TestBot> {
  await old.db.$disconnect();
  const db = await openDatabase(url);
  return facilitatorBot(db, url, { tg: old.tg, ...(now ? { now } : {}) });
}

/**
 * What the bot process's scheduler does right after a close or a completed rating commits (the
 * outbox wake): claims every due job and the jobs they fan out into, until none is left. No
 * planning pass, and no pacing delay (the clock is fixed here), so a test sees exactly the outbox.
 */
export async function deliverOutbox(tb: Pick<TestBot, "services">): Promise<TickReport> {
  const pacer = new SendPacer({ clock: systemClock, perChatMs: 0, perSecond: 10_000 });
  const total: TickReport = {
    planned: 0,
    claimed: 0,
    sent: 0,
    skipped: 0,
    rescheduled: 0,
    failed: 0,
    released: 0,
  };
  for (let i = 0; i < 10; i++) {
    const r = await tick(notifyDeps(tb.services), { pacer, plan: false });
    for (const k of Object.keys(total) as (keyof TickReport)[]) total[k] += r[k];
    if (r.claimed === 0) return total;
  }
  throw new Error("the outbox did not drain in 10 ticks");
}

const notNav = (t: string) => !/Back|Pause|Skip/.test(t);

/** Answers everything the bot asks a parent (handoffs included) with the first answer button. */
export async function answerEverything(
  user: FakeUser,
  pick: (labels: string[]) => string = (l) => l[0]!,
): Promise<number> {
  let presses = 0;
  for (let guard = 0; guard < 300; guard++) {
    const cur = user.tg.withButtons(user.id).at(-1);
    if (!cur) break;
    const labels = cur.keyboard.flat().map((b) => b.text);
    if (labels.includes("I'm ready")) {
      await user.press("I'm ready", cur);
      continue;
    }
    await user.press(pick(labels.filter(notNav)), cur);
    presses++;
  }
  return presses;
}

/** Adds a participant to a group, enrols the parent by invite, records consent and assent. */
export async function consentedFamily(
  tb: TestBot,
  code: string,
  userId: number,
  group: string,
  opts: { finishPre?: boolean } = {},
): Promise<FakeUser> {
  await addParticipant(
    tb.db,
    { code, arm: "experimental", gender: userId % 2 ? "male" : "female", ageYears: 9, group },
    { kind: "cli" },
  );
  const invite = await createInvite(
    tb.db,
    { role: "parent", participantCode: code, ttlHours: 24 },
    { kind: "cli" },
    NOW,
  );
  const parent = tb.user(userId);
  await parent.send(`/start ${invite.code}`);
  await parent.press("I agree");
  await parent.press("My child agrees");
  if (opts.finishPre ?? true) await answerEverything(parent);
  return parent;
}

export async function facilitatorFor(
  tb: TestBot,
  userId: number,
  group: string,
  languageCode = "en",
): Promise<FakeUser> {
  const invite = await createInvite(
    tb.db,
    { role: "facilitator", group, ttlHours: 24 },
    { kind: "cli" },
    NOW,
  );
  const fac = tb.user(userId, languageCode);
  await fac.send(`/start ${invite.code}`);
  return fac;
}

export async function group(tb: TestBot, name: string) {
  return createGroup(tb.db, { name, arm: "experimental" }, { kind: "cli" });
}

/** The latest message carrying a button with this label. */
export function withButton(user: FakeUser, label: string | RegExp): FakeMessage {
  const match = (t: string) => (typeof label === "string" ? t === label : label.test(t));
  const m = user.tg
    .withButtons(user.id)
    .filter((x) => x.keyboard.flat().some((b) => match(b.text)))
    .at(-1);
  if (!m)
    throw new Error(
      `no message with a button ${String(label)}; last: ${user.tg.lastMessage(user.id)?.text}`,
    );
  return m;
}

export function texts(user: FakeUser): string[] {
  return user.messages().map((m) => m.text);
}

/** Logs a whole session quickly: the next number, today, these children present, every observation and the reflection answered, closed. */
export async function logWholeSession(
  fac: FakeUser,
  presentCodes: string[],
  opts: { overall?: string; close?: boolean } = {},
): Promise<void> {
  await fac.send("/session");
  await fac.press(/^▶ Session/);
  await fac.press(/^Today/);
  for (const code of presentCodes) await fac.press((t) => t.startsWith("⬜") && t.includes(code));
  await fac.press(/^Done/);
  for (let guard = 0; guard < 200; guard++) {
    const cur = fac.current();
    const labels = cur.keyboard.flat().map((b) => b.text);
    if (labels.includes("🔒 Close session")) break;
    if (labels.includes("Skip")) {
      await fac.press("Skip", cur);
      continue;
    }
    const wanted =
      /How well did the session go/.test(cur.text) && opts.overall
        ? opts.overall
        : labels.find((l) => notNav(l) && l !== "⏭ Skip this child")!;
    await fac.press(wanted, cur);
  }
  if (opts.close ?? true) await fac.press("🔒 Close session");
}
