// A small study run through the real bot for the security tests: the bot with every role
// feature, over a real SQLite file, the fake Bot API, and a pino logger writing into memory.
// Enrolment, consent, questionnaires and session logs all go through Telegram updates.
import { pino, type Level, type Logger } from "pino";
import type { Bot, Context } from "grammy";
import { createBot } from "../../src/telegram/create-bot.js";
import type { Services } from "../../src/telegram/services.js";
import { extraFeatures } from "../../src/telegram/wiring.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createGroup } from "../../src/usecases/groups.js";
import { createInvite, type Role } from "../../src/usecases/invites.js";
import type { Db } from "../../src/db/client.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows, testConfig } from "../support/bot.js";
import { BOT_INFO, FakeTelegram, type FakeMessage } from "../support/fake-telegram.js";
import { Person, callbackDataOf, type Persona } from "../support/fuzz.js";
import { decodeCallback } from "../../src/telegram/callback-data.js";

export interface LogBuffer {
  /** Raw JSON lines as pino wrote them. */
  lines: string[];
  entries(): { level: number; msg?: string; [k: string]: unknown }[];
  text(): string;
}

export function bufferLogger(level: Level | "silent"): { logger: Logger; log: LogBuffer } {
  const lines: string[] = [];
  const logger = pino({ level, base: undefined }, { write: (s: string) => void lines.push(s) });
  return {
    logger,
    log: {
      lines,
      entries: () => lines.map((l) => JSON.parse(l) as { level: number; msg?: string }),
      text: () => lines.join(""),
    },
  };
}

export interface Study {
  tmp: TempDb;
  db: Db;
  bot: Bot<Context>;
  tg: FakeTelegram;
  services: Services;
  log: LogBuffer;
  person(profile: Persona): Person;
  close(): Promise<void>;
}

export async function openStudy(opts: { logLevel?: Level; now?: () => Date } = {}): Promise<Study> {
  const tmp = await tempDatabase();
  const tg = new FakeTelegram();
  const { logger, log } = bufferLogger(opts.logLevel ?? "warn");
  const { bot, services } = createBot(
    {
      db: tmp.db,
      flows: shippedFlows(),
      config: testConfig(tmp.url),
      logger,
      ...(opts.now ? { now: opts.now } : {}),
    },
    { token: "1:test", botInfo: BOT_INFO, features: extraFeatures() },
  );
  tg.install(bot);
  const people = new Map<number, Person>();
  return {
    tmp,
    db: tmp.db,
    bot: bot as unknown as Bot<Context>,
    tg,
    services,
    log,
    person(profile) {
      let p = people.get(profile.id);
      if (!p) {
        p = new Person(bot as unknown as Bot<Context>, tg, profile);
        people.set(profile.id, p);
      }
      return p;
    },
    close: () => tmp.cleanup(),
  };
}

export interface ChildSpec {
  code: string;
  arm?: "experimental" | "control" | "none";
  group?: string;
  gender?: "male" | "female";
  age?: number;
}

/** Adds the child (and the group if new), creates the parent's invite and redeems it with /start. */
export async function enrolParent(study: Study, parent: Person, child: ChildSpec): Promise<void> {
  if (child.group && !(await study.db.group.findUnique({ where: { name: child.group } }))) {
    await createGroup(
      study.db,
      { name: child.group, arm: child.arm ?? "experimental" },
      { kind: "cli" },
    );
  }
  await addParticipant(
    study.db,
    {
      code: child.code,
      arm: child.arm ?? "experimental",
      gender: child.gender ?? "female",
      ageYears: child.age ?? 9,
      group: child.group,
    },
    { kind: "cli" },
  );
  const { code } = await createInvite(
    study.db,
    { role: "parent", participantCode: child.code, ttlHours: 24 },
    { kind: "cli" },
    study.services.now(),
  );
  await parent.send(`/start ${code}`);
}

/** Presses "agree" on the consent, then on the assent (by callback data, so any language works). */
export async function consentBoth(parent: Person): Promise<void> {
  for (const which of ["consent", "assent"]) {
    const m = parent.current();
    const data = callbackDataOf(m).find((d) => {
      const x = decodeCallback(d);
      return x?.kind === "consent" && x.which === which && x.agree;
    });
    if (!data) throw new Error(`no ${which} button in: ${m.text.slice(0, 80)}`);
    await parent.deliver(parent.pressUpdate(m, data));
  }
}

/** A staff invite redeemed through the bot (facilitators optionally bound to a group). */
export async function enrolStaff(
  study: Study,
  person: Person,
  role: Exclude<Role, "parent">,
  group?: string,
): Promise<void> {
  if (group && !(await study.db.group.findUnique({ where: { name: group } }))) {
    await createGroup(study.db, { name: group, arm: "experimental" }, { kind: "cli" });
  }
  const { code } = await createInvite(
    study.db,
    { role, ttlHours: 24, group },
    { kind: "cli" },
    study.services.now(),
  );
  await person.send(`/start ${code}`);
}

const NAV = /Back|Pause|Skip|Cancel|All$/;

function isAnswer(data: string): boolean {
  const d = decodeCallback(data);
  return d?.kind === "q" && (d.action === "a" || d.action === "r");
}

/**
 * Answers whatever the person is asked (questionnaire buttons; the first option unless `choose`
 * says otherwise; optional text items skipped) until no question is left.
 */
export async function answerAll(
  p: Person,
  choose: (m: FakeMessage) => string | undefined = () => undefined,
  max = 400,
): Promise<void> {
  for (let i = 0; i < max; i++) {
    const shown = p.tg.withButtons(p.id);
    const cur = shown[shown.length - 1];
    if (!cur) return;
    const data = callbackDataOf(cur);
    if (!data.some(isAnswer)) {
      if (cur.keyboard.flat().some((b) => b.text === "Skip")) {
        await p.press("Skip", cur);
        continue;
      }
      return;
    }
    const label =
      choose(cur) ??
      cur.keyboard
        .flat()
        .find((b) => "callback_data" in b && isAnswer(b.callback_data!) && !NAV.test(b.text))!.text;
    await p.press(label, cur);
  }
  throw new Error("answerAll: too many questions");
}

/**
 * Logs the facilitator's next session of their (only) group: today, everyone present, every
 * observation skipped, the reflection answered, then closed.
 */
export async function logSession(f: Person): Promise<void> {
  await f.send("/session");
  for (let i = 0; i < 200; i++) {
    const shown = f.tg.withButtons(f.id);
    const cur = shown[shown.length - 1];
    if (!cur) throw new Error(`session log stalled: ${f.last().text}`);
    const labels = cur.keyboard.flat().map((b) => b.text);
    const header = shown.find((m) => m.keyboard.flat().some((b) => b.text === "⏭ Skip this child"));
    if (header) await f.press("⏭ Skip this child", header);
    else if (labels.includes("🔒 Close session")) {
      await f.press("🔒 Close session", cur);
      return;
    } else if (labels.some((l) => l.startsWith("▶ Session")))
      await f.press((t) => t.startsWith("▶ Session"), cur);
    else if (labels.some((l) => l.startsWith("Today")))
      await f.press((t) => t.startsWith("Today"), cur);
    else if (labels.includes("☑️ All")) {
      if (labels.some((l) => l.startsWith("⬜"))) await f.press("☑️ All", cur);
      else await f.press((t) => t.startsWith("Done ▶"), cur);
    } else if (labels.includes("Skip")) await f.press("Skip", cur);
    else await f.press((t) => !NAV.test(t), cur);
  }
  throw new Error("session log did not close");
}

/** Every table.column of the SQLite file whose text contains `needle` (case-sensitive), skipping none. */
export async function findInDatabase(db: Db, needle: string): Promise<string[]> {
  const tables = await db.$queryRawUnsafe<{ name: string }[]>(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`,
  );
  const hits: string[] = [];
  for (const { name } of tables) {
    const columns = await db.$queryRawUnsafe<{ name: string }[]>(
      `SELECT name FROM pragma_table_info(?)`,
      name,
    );
    for (const col of columns) {
      const q = `SELECT count(*) AS n FROM "${name}" WHERE instr(CAST("${col.name}" AS TEXT), ?) > 0`;
      const [row] = await db.$queryRawUnsafe<{ n: bigint | number }[]>(q, needle);
      if (Number(row?.n ?? 0) > 0) hits.push(`${name}.${col.name}`);
    }
  }
  return hits.sort();
}
