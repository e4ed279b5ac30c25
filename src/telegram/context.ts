import type { Context } from "grammy";
import type { I18nFlavor } from "@grammyjs/i18n";
import type { Account } from "../generated/prisma/client.js";
import type { Services } from "./services.js";
import type { MarkProcessed } from "./conversation/questionnaire.js";

export interface CircleState {
  s: Services;
  /** The enrolled account behind this update's sender, if any. */
  account: Account | null;
  locale: string;
  /** Set once the update id is recorded (inside a handler's own transaction, or afterwards). */
  processed: boolean;
  markProcessed: MarkProcessed;
}

export type CircleContext = Context & I18nFlavor & { circle: CircleState };
