// Layer rules that hold today, checked over the source tree so a change cannot quietly break them:
// grammY is the Telegram adapter's (src/telegram) and the local Bot API sandbox's (src/sandbox) alone;
// statistics, flows, the engine, the store and the scheduler's reads never import it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "generated" ? [] : files(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\b[^;]*?from\s+["']([^"']+)["']/gm;
function imports(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(IMPORT)].map((m) => m[1]!);
}

describe("layer boundaries", () => {
  it("only src/telegram and src/sandbox import grammY", () => {
    const offenders = files(SRC).flatMap((f) => {
      const rel = relative(SRC, f);
      if (rel.startsWith("telegram/") || rel.startsWith("sandbox/")) return [];
      return imports(f)
        .filter((m) => m === "grammy" || m.startsWith("grammy/") || m.startsWith("@grammyjs/"))
        .map((m) => `${rel} imports ${m}`);
    });
    expect(offenders).toEqual([]);
  });

  it("analysis, study, domain, use cases and the store import nothing from the Telegram adapter", () => {
    const offenders = files(SRC).flatMap((f) => {
      const rel = relative(SRC, f);
      if (!/^(analysis|study|store|domain|usecases)\//.test(rel)) return [];
      return imports(f)
        .filter((m) => /(^|\/)telegram\//.test(m))
        .map((m) => `${rel} imports ${m}`);
    });
    expect(offenders).toEqual([]);
  });

  it("the check itself finds imports (it would catch an offender)", () => {
    const found = imports(join(SRC, "telegram/create-bot.ts"));
    expect(found.some((m) => m === "grammy" || m.startsWith("@grammyjs/"))).toBe(true);
  });
});
