// One data model for both engines: prisma/schema.prisma is the source; the PostgreSQL schema is
// generated from it and must be exactly that output (test/postgres/schema.test.ts checks that the
// PostgreSQL migrations build it). Both engines have the same migrations' history in content.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listMigrations, MIGRATIONS_DIR, POSTGRES_MIGRATIONS_DIR } from "../../src/db/migrate.js";
// @ts-expect-error: a plain .mjs script without types
import { postgresSchema } from "../../scripts/postgres-schema.mjs";

const ROOT = join(import.meta.dirname, "../..");

describe("one data model, two engines", () => {
  it("prisma/postgres/schema.prisma is generated from prisma/schema.prisma (node scripts/postgres-schema.mjs)", () => {
    const source = readFileSync(join(ROOT, "prisma/schema.prisma"), "utf8");
    const committed = readFileSync(join(ROOT, "prisma/postgres/schema.prisma"), "utf8");
    expect(committed).toBe((postgresSchema as (s: string) => string)(source));
  });

  it("every table the SQLite migrations create, the PostgreSQL migrations create too", () => {
    const tables = (dir: string) =>
      new Set(
        listMigrations(dir).flatMap((m) =>
          [...m.sql.matchAll(/CREATE TABLE "([A-Za-z_]+)"/g)].map((x) => x[1]!),
        ),
      );
    const sqlite = tables(MIGRATIONS_DIR);
    // SQLite rebuilds a table to alter it (CREATE TABLE "new_X"); those are not new tables.
    const created = [...sqlite].filter((t) => !t.startsWith("new_")).sort();
    expect([...tables(POSTGRES_MIGRATIONS_DIR)].sort()).toEqual(created);
    expect(created).toContain("InboxUpdate");
  });
});
