// pino logger. Logs carry participant codes and account ids at most: never Telegram ids,
// names, usernames or message text (privacy rule). The redact list is a second line of defence.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          "*.from",
          "*.chat",
          "*.username",
          "*.first_name",
          "*.last_name",
          "*.text",
          "*.telegramUserId",
          "*.chatId",
          "update.message",
          "update.callback_query",
        ],
        censor: "[redacted]",
      },
    },
    pino.destination(2),
  );
}

export const silentLogger: Logger = pino({ level: "silent" });
