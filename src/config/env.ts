// The one place that reads process.env. Every variable is validated here with zod and
// documented in .env.example; the rest of Circle receives a typed Config object.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { config as loadDotenv } from "dotenv";
import { z } from "zod";

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .transform((s) => (s === "" ? undefined : s))
  .optional();

const intFrom = (def: number, min = 0) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === "" ? def : Number(s.trim())))
    .pipe(z.number({ error: "expected a whole number" }).int().min(min));

/** "21-8" means quiet from 21:00 to 08:00 (local to QUIET_HOURS_TZ). Empty disables. */
const quietHours = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (s === undefined || s.trim() === "") return null;
    const m = /^(\d{1,2})-(\d{1,2})$/.exec(s.trim());
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 23) {
      ctx.addIssue({ code: "custom", message: 'expected "HH-HH", e.g. "21-8"' });
      return z.NEVER;
    }
    return { from: Number(m[1]), to: Number(m[2]) };
  });

export const envSchema = z.object({
  BOT_TOKEN: optionalString,
  BOT_USERNAME: optionalString,
  DATABASE_URL: z.string().default("file:./data/circle.db"),
  TELEGRAM_API_ROOT: z.url().default("https://api.telegram.org"),
  WEBHOOK_URL: z.preprocess((v) => (v === "" ? undefined : v), z.url().optional()),
  WEBHOOK_SECRET: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, "1-256 characters of A-Z, a-z, 0-9, _ and -")
      .optional(),
  ),
  WEBHOOK_PORT: intFrom(8080, 1),
  /** NORMAL: committed data survives any process crash; FULL: also fsync per commit (power cuts). */
  SQLITE_SYNCHRONOUS: z.enum(["NORMAL", "FULL"]).default("NORMAL"),
  /** PostgreSQL: connections per process for queries. */
  PG_POOL_SIZE: intFrom(10, 2),
  FLOWS_DIR: z.string().default("./flows"),
  EXTRA_FLOWS_DIR: optionalString,
  DEFAULT_LOCALE: z.string().default("en"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  INVITE_TTL_HOURS: intFrom(24 * 14, 1),
  RANDOMISATION_SEED: optionalString,
  QUIET_HOURS: quietHours,
  QUIET_HOURS_TZ: z
    .string()
    .default("UTC")
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, "not an IANA time zone (e.g. Asia/Shanghai)"),
  REMINDER_MAX: intFrom(3, 0),
  REMINDER_INTERVAL_HOURS: intFrom(24, 1),
  SCHEDULER_POLL_MS: intFrom(5000, 50),
  /** How long a claimed job is held before another process (or instance) may take it over. */
  SCHEDULER_LEASE_SECONDS: intFrom(300, 1),
});

export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {}

let dotenvLoaded = false;

/** Reads `.env` (when present, never overriding real environment variables) and validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env === process.env && !dotenvLoaded) {
    dotenvLoaded = true;
    const file = resolve(process.cwd(), ".env");
    if (existsSync(file)) loadDotenv({ path: file, quiet: true });
  }
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  }
  if (parsed.data.WEBHOOK_URL && !parsed.data.WEBHOOK_SECRET) {
    throw new ConfigError(
      "invalid environment: WEBHOOK_SECRET is required when WEBHOOK_URL is set",
    );
  }
  return parsed.data;
}
