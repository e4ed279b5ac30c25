import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/env.js";
import { readFileSync } from "node:fs";

const env = (e: Record<string, string>) => e as unknown as NodeJS.ProcessEnv;

describe("configuration", () => {
  it("has working defaults", () => {
    const c = loadConfig(env({}));
    expect(c.DATABASE_URL).toBe("file:./data/circle.db");
    expect(c.TELEGRAM_API_ROOT).toBe("https://api.telegram.org");
    expect(c.QUIET_HOURS).toBeNull();
    expect(c.REMINDER_MAX).toBe(3);
  });

  it("rejects bad values with a message naming the variable", () => {
    for (const [k, v] of [
      ["TELEGRAM_API_ROOT", "not a url"],
      ["QUIET_HOURS", "25-8"],
      ["QUIET_HOURS_TZ", "Mars/Olympus"],
      ["REMINDER_MAX", "-1"],
      ["LOG_LEVEL", "loud"],
    ] as const) {
      expect(() => loadConfig(env({ [k]: v })), k).toThrow(ConfigError);
      try {
        loadConfig(env({ [k]: v }));
      } catch (e) {
        expect((e as Error).message).toContain(k);
      }
    }
    expect(() => loadConfig(env({ WEBHOOK_URL: "https://example.org/hook" }))).toThrow(
      /WEBHOOK_SECRET/,
    );
  });

  it("lists every variable in .env.example", () => {
    const example = readFileSync(".env.example", "utf8");
    const schemaKeys = Object.keys(loadConfig(env({})));
    for (const k of schemaKeys) expect(example, k).toMatch(new RegExp(`^${k}=`, "m"));
  });
});
