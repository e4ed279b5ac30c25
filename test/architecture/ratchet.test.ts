// Where the core refactoring stands, as a ratchet. The target (README "Layers"): only src/usecases
// opens transactions and writes audit events, and only src/store (with src/db, the connection
// and migrations) holds SQL. The files below still do it on their own; they are the known debt.
// The test fails when a file NOT listed starts to do it (a new violation), and when a listed file
// stops (then take it off the list, so the list only ever shrinks).
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

function offenders(test: RegExp, allowedDirs: RegExp): string[] {
  return files(SRC)
    .map((f) => relative(SRC, f))
    .filter((rel) => !allowedDirs.test(rel) && test.test(readFileSync(join(SRC, rel), "utf8")))
    .sort();
}

/** Files outside src/usecases that still open transactions themselves. */
const TRANSACTIONS_OUTSIDE_USECASES: string[] = [];

/** Files outside src/telegram (and the CLI, demo and sandbox entry points) that still import it. */
const TELEGRAM_IMPORTS_OUTSIDE_TELEGRAM: string[] = [];

/** Files outside src/store and src/db that still hold SQL. */
const SQL_OUTSIDE_STORE: string[] = [];

describe("core refactoring ratchet", () => {
  it("no file outside src/usecases starts opening transactions (and the debt list only shrinks)", () => {
    expect(offenders(/\$transaction\s*\(/, /^(usecases|db)\//)).toEqual(
      TRANSACTIONS_OUTSIDE_USECASES,
    );
  });

  it("no core module starts importing the Telegram adapter (and the debt list only shrinks)", () => {
    expect(offenders(/from\s+["'][^"']*\/telegram\//, /^(telegram|cli|demo|sandbox)\//)).toEqual(
      TELEGRAM_IMPORTS_OUTSIDE_TELEGRAM,
    );
  });

  it("no file outside src/store and src/db starts holding SQL (and the debt list only shrinks)", () => {
    expect(offenders(/\$queryRaw|\$executeRaw|\.prepare\(\s*[`"']/, /^(store|db)\//)).toEqual(
      SQL_OUTSIDE_STORE,
    );
  });
});
