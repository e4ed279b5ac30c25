// The real Circle bot (createBot with the production features) over a real SQLite file, driven
// in-process through bot.handleUpdate with the light fake Bot API. Parents enrol the way they do
// in production: invite, /start <code>, consent, assent, then the bench's 30-item questionnaire.
import type { Bot } from "grammy";
import { autoRetry } from "@grammyjs/auto-retry";
import type { Update } from "grammy/types";
import { loadConfig } from "../src/config/env.js";
import { openDatabase, type Db, type SyncMode } from "../src/db/client.js";
import type { LoadedFlows } from "../src/study/model.js";
import { createBot } from "../src/telegram/create-bot.js";
import type { CircleContext } from "../src/telegram/context.js";
import { extraFeatures } from "../src/telegram/wiring.js";
import { addParticipant } from "../src/usecases/participants.js";
import { createInvite } from "../src/usecases/invites.js";
import { pino } from "pino";
import { BENCH_BOT, BenchUser, LightTelegram, buttonData } from "./fake-api.js";

const ANSWER = /^1q:\d+:[a-z0-9]+:a:\d+$/;

export class CircleHarness {
  readonly tg = new LightTelegram();
  readonly bot: Bot<CircleContext>;
  /** Warnings and errors the bot logged (an error path would make the numbers meaningless). */
  readonly problems: string[] = [];
  private readonly users = new Map<number, BenchUser>();

  private constructor(
    readonly db: Db,
    readonly url: string,
    flows: LoadedFlows,
  ) {
    const config = loadConfig({
      DATABASE_URL: url,
      BOT_TOKEN: "1:bench",
      LOG_LEVEL: "silent",
    } as NodeJS.ProcessEnv);
    const logger = pino(
      { level: "warn", base: undefined },
      { write: (line: string) => void this.problems.push(line.trim()) },
    );
    this.bot = createBot(
      { db, flows, config, logger },
      { token: "1:bench", botInfo: BENCH_BOT, features: extraFeatures() },
    ).bot;
    this.bot.api.config.use(this.tg.transformer());
    // As in src/telegram/main.ts (installed after, so it wraps the API like it wraps HTTP there).
    this.bot.api.config.use(
      autoRetry({ maxRetryAttempts: 6, maxDelaySeconds: 120, rethrowInternalServerErrors: false }),
    );
  }

  /** `synchronous`: as SQLITE_SYNCHRONOUS sets it for `npm start` (default NORMAL). */
  static async open(
    url: string,
    flows: LoadedFlows,
    synchronous?: SyncMode,
  ): Promise<CircleHarness> {
    return new CircleHarness(
      await openDatabase(url, synchronous ? { synchronous } : {}),
      url,
      flows,
    );
  }

  user(id: number): BenchUser {
    let u = this.users.get(id);
    if (!u) this.users.set(id, (u = new BenchUser(id)));
    return u;
  }

  async deliver(u: Update): Promise<void> {
    await this.bot.handleUpdate(u);
  }

  private async pressMatching(id: number, match: RegExp): Promise<void> {
    const cur = this.tg.buttons(id);
    if (!cur)
      throw new Error(
        `parent ${id}: no message with buttons; bot problems: ${this.problems.slice(-3).join(" | ")}`,
      );
    let data: string;
    try {
      data = buttonData(cur, match);
    } catch (e) {
      throw new Error(
        `parent ${id}: ${(e as Error).message}; bot problems: ${this.problems.slice(-3).join(" | ")}`,
      );
    }
    await this.deliver(this.user(id).press(cur, data));
  }

  /** Adds a participant, invites the parent and walks them through enrolment to item 1. */
  async enrol(id: number): Promise<void> {
    const code = `BP${id}`;
    await addParticipant(
      this.db,
      {
        code,
        arm: id % 2 ? "experimental" : "control",
        gender: id % 3 ? "male" : "female",
        ageYears: 6 + (id % 8),
      },
      { kind: "cli" },
    );
    const invite = await createInvite(
      this.db,
      { role: "parent", participantCode: code, ttlHours: 24 },
      { kind: "cli" },
    );
    await this.deliver(this.user(id).text(`/start ${invite.code}`));
    await this.pressMatching(id, /^1c:c:y:/);
    await this.pressMatching(id, /^1c:a:y:/);
    if (!this.answerUpdate(id, 0))
      throw new Error(`parent ${id} was not asked item 1 after enrolment`);
  }

  /** The press that answers the parent's current item (option chosen by `option`), or null when nothing is asked. */
  answerUpdate(id: number, option: number): Update | null {
    const cur = this.tg.buttons(id);
    if (
      !cur ||
      !cur.keyboard
        .flat()
        .some((b) => ANSWER.test((b as { callback_data?: string }).callback_data ?? ""))
    )
      return null;
    return this.user(id).press(cur, buttonData(cur, ANSWER, option));
  }

  async close(): Promise<void> {
    await this.db.$disconnect();
  }
}
