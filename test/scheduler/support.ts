// A scheduler test world: a real SQLite file, the real bot over the fake Bot API, one virtual
// clock driving both Services.now() and the send pacer, and a log of when each API call happened.
import type { Config } from "../../src/config/env.js";
import { openDatabase } from "../../src/db/client.js";
import type { Services } from "../../src/telegram/services.js";
import { timepointAssignments, responseSetKey } from "../../src/usecases/assignments.js";
import { VirtualClock } from "../../src/scheduler/clock.js";
import { SendPacer } from "../../src/notify/pacer.js";
import { tick, type TickReport } from "../../src/scheduler/loop.js";
import { notifyDeps } from "../../src/telegram/outbound.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { makeTestBot, shippedFlows, type TestBot } from "../support/bot.js";
import type { FakeTelegram } from "../support/fake-telegram.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** A Monday, 09:00 UTC. */
export const T0 = Date.UTC(2030, 2, 4, 9, 0, 0);

export interface ApiCall {
  method: string;
  chat: number;
  at: number;
  text: string;
}

export class World {
  tb!: TestBot;
  pacer!: SendPacer;
  readonly calls: ApiCall[] = [];
  private overrides: Partial<Config> = {};

  constructor(
    readonly tmp: TempDb,
    readonly clock: VirtualClock,
  ) {}

  static async create(config: Partial<Config> = {}, clock = new VirtualClock(T0)): Promise<World> {
    const w = new World(await tempDatabase(), clock);
    w.overrides = config;
    w.boot(w.tmp.db);
    return w;
  }

  private boot(db: TempDb["db"], tg?: FakeTelegram) {
    this.tb = makeTestBot(db, this.tmp.url, {
      now: () => this.clock.date(),
      ...(tg ? { tg } : {}),
    });
    this.tb.services.config = { ...this.tb.services.config, ...this.overrides };
    this.pacer = new SendPacer({ clock: this.clock });
    // Outermost transformer: sees every call the bot makes, at the virtual time it is made.
    this.tb.bot.api.config.use((prev, method, payload, signal) => {
      const p = payload as { chat_id?: unknown; text?: unknown };
      this.calls.push({
        method,
        chat: Number(p.chat_id),
        at: this.clock.now(),
        text: String(p.text ?? ""),
      });
      return prev(method, payload, signal);
    });
  }

  get s(): Services {
    return this.tb.services;
  }

  get db() {
    return this.tb.db;
  }

  get tg(): FakeTelegram {
    return this.tb.tg;
  }

  configure(config: Partial<Config>) {
    this.overrides = { ...this.overrides, ...config };
    this.tb.services.config = { ...this.tb.services.config, ...config };
  }

  /** A process restart: new client, bot, services and pacer over the same file and chats. */
  async restart(): Promise<void> {
    await this.tb.db.$disconnect();
    this.boot(await openDatabase(this.tmp.url), this.tb.tg);
  }

  tick(opts: { plan?: boolean } = {}): Promise<TickReport> {
    return tick(notifyDeps(this.s), { pacer: this.pacer, ...opts });
  }

  /** Moves the clock forward in steps, ticking at each step (like the polling loop would). */
  async runFor(ms: number, step = HOUR): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.set(Math.min(end, this.clock.now() + step));
      await this.tick();
    }
  }

  sent(chat: number): ApiCall[] {
    return this.calls.filter((c) => c.method === "sendMessage" && c.chat === chat);
  }

  async cleanup() {
    await this.tb.db.$disconnect();
    await this.tmp.cleanup();
  }
}

let nextChat = 7000;

export interface Family {
  participantId: number;
  accountId: number;
  chat: number;
  code: string;
}

/** A consented family with a parent chat and the pre-test assigned now (by the clock). */
export async function seedFamily(
  w: World,
  code: string,
  opts: { locale?: string; groupId?: number; consent?: boolean; assign?: string | null } = {},
): Promise<Family> {
  const now = w.clock.date();
  const chat = nextChat++;
  const p = await w.db.participant.create({
    data: {
      code,
      arm: "experimental",
      gender: "female",
      ageYears: 8,
      status: opts.consent === false ? "enrolled" : "consented",
      enrolledAt: now,
      createdAt: now,
      groupId: opts.groupId ?? null,
    },
  });
  if (opts.consent !== false) {
    await w.db.consent.createMany({
      data: ["consent", "assent"].map((kind) => ({
        participantId: p.id,
        kind,
        version: "1.0",
        decision: "agree",
        recordedByRole: "parent",
        at: now,
      })),
    });
  }
  const account = await w.db.account.create({
    data: {
      telegramUserId: String(chat),
      chatId: String(chat),
      role: "parent",
      locale: opts.locale ?? "en",
      participantId: p.id,
      createdAt: now,
    },
  });
  const timepoint = opts.assign === undefined ? "pre" : opts.assign;
  if (timepoint) await assign(w, p.id, timepoint);
  return { participantId: p.id, accountId: account.id, chat, code };
}

/** Creates a timepoint's response sets for a participant, as of the clock's time. */
export async function assign(w: World, participantId: number, timepoint: string): Promise<void> {
  const now = w.clock.date();
  for (const a of timepointAssignments(shippedFlows(), timepoint, "experimental")) {
    await w.db.responseSet.create({
      data: {
        key: responseSetKey({
          participantId,
          slot: a.slot,
          instrumentId: a.instrument.id,
          respondent: a.respondent,
        }),
        participantId,
        slot: a.slot,
        timepoint: a.timepoint,
        instrumentId: a.instrument.id,
        instrumentVersion: a.instrument.version,
        instrumentHash: a.instrument.hash,
        respondent: a.respondent,
        createdAt: now,
      },
    });
  }
}

/** The title of the instrument the family is asked first (what a reminder should name). */
export function firstPreTitle(locale = "en"): string {
  const flows = shippedFlows();
  const first = timepointAssignments(flows, "pre", "experimental")[0]!;
  return first.instrument.title[locale]!;
}

export async function addStaff(
  w: World,
  role: "admin" | "facilitator" | "researcher",
  opts: { optIn?: boolean; groupId?: number; locale?: string } = {},
) {
  const chat = nextChat++;
  const a = await w.db.account.create({
    data: {
      telegramUserId: String(chat),
      chatId: String(chat),
      role,
      locale: opts.locale ?? "en",
      alertsOptIn: opts.optIn ?? false,
    },
  });
  if (opts.groupId)
    await w.db.groupFacilitator.create({ data: { groupId: opts.groupId, accountId: a.id } });
  return { accountId: a.id, chat };
}

/**
 * A group with its six sessions; `dates[i]` is session i+1's planned date (or null). With
 * `logPast`, sessions dated before now are held and closed (logged) on their date.
 */
export async function seedGroup(
  w: World,
  name: string,
  dates: (number | null)[],
  opts: { logPast?: boolean } = {},
) {
  const g = await w.db.group.create({ data: { name, arm: "experimental" } });
  for (let i = 0; i < 6; i++) {
    const d = dates[i] ?? null;
    const logged = opts.logPast && d !== null && d < w.clock.now();
    await w.db.groupSession.create({
      data: {
        groupId: g.id,
        number: i + 1,
        plannedOn: d === null ? null : new Date(d),
        ...(logged
          ? { status: "closed", heldOn: new Date(d), closedAt: new Date(d + 2 * HOUR) }
          : {}),
      },
    });
  }
  return g;
}

/** Most sends of any one-second window [t, t+1000), and the smallest gap between two sends to one chat. */
export function paceStats(calls: { chat: number | string; at: number }[]) {
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  let maxPerSecond = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[j]! <= times[i]! - 1000) j++;
    maxPerSecond = Math.max(maxPerSecond, i - j + 1);
  }
  const byChat = new Map<string, number[]>();
  for (const c of calls) byChat.set(String(c.chat), [...(byChat.get(String(c.chat)) ?? []), c.at]);
  let minChatGap = Infinity;
  for (const list of byChat.values())
    for (let i = 1; i < list.length; i++)
      minChatGap = Math.min(minChatGap, list[i]! - list[i - 1]!);
  return {
    maxPerSecond,
    minChatGap,
    span: times.length ? times[times.length - 1]! - times[0]! : 0,
  };
}
