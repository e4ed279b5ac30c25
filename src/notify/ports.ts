// What the outbox and the scheduler need from outside Circle's core, as small interfaces: a way
// to put messages in front of people, texts in their language, and "show this family its next
// question". The Telegram adapter implements them (src/telegram/outbound.ts); the scheduler and
// the job handlers take them in a deps object and never see grammY, so another channel (or a
// test) can stand in for Telegram.
import type { Config } from "../config/env.js";
import type { Db } from "../db/client.js";
import type { Account } from "../generated/prisma/client.js";
import type { Logger } from "../log.js";
import type { LoadedFlows } from "../study/model.js";

/** An inline button as a plain value; the adapter turns rows of them into its own markup. */
export interface Button {
  text: string;
  callback_data: string;
}

/**
 * Messages out, in Telegram's HTML subset (every flow or user string escaped). The adapter keeps
 * the channel's limits (long texts split) and throws what the channel refused, unchanged: the
 * loop tells a blocked chat from a failure worth retrying by it.
 */
export interface Outbound {
  /** Returns the id of the (last) message sent. */
  send(chatId: string, html: string, buttons?: Button[][]): Promise<number>;
  edit(chatId: string, messageId: number, html: string, buttons?: Button[][]): Promise<void>;
  /** Takes an older message's buttons away; best effort (it may be gone or already plain). */
  stripButtons(chatId: string, messageId: number): Promise<void>;
}

/** A text of the bot's catalogue in a locale, as HTML: string variables are escaped by it. */
export type Translate = (
  locale: string,
  key: string,
  vars?: Record<string, string | number>,
) => string;

export interface NotifyPorts {
  outbound: Outbound;
  tr: Translate;
  /** The language an account reads. */
  localeOf(account: { locale: string | null }): string;
  /**
   * Shows a parent the family's next question (resuming a paused questionnaire), as /resume
   * would: the questionnaire's own first message, from the account as it is now.
   */
  showNextQuestion(account: Account): Promise<void>;
}

/** What the planner reads: the database, the study and the settings. */
export interface PlanDeps {
  db: Db;
  flows: LoadedFlows;
  config: Config;
}

/** Everything the scheduler loop and the job handlers take. */
export interface NotifyDeps extends PlanDeps, NotifyPorts {
  logger: Logger;
  now(): Date;
}
