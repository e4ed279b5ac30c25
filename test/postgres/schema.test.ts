// PostgreSQL's migrations build exactly the schema Prisma derives from the one data model, and the
// database commands work on it: `circle db migrate`, `circle db status`, and a backup taken with
// pg_dump while Circle writes, restored with pg_restore into a database that verifies.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.js";
import { committedMigrations } from "../../src/db/status.js";
import { audit, verifyAuditChain } from "../../src/store/audit.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { runCircle } from "../support/cli.js";
import { newPostgresDatabase, TEST_POSTGRES_URL } from "../support/postgres.js";

const ROOT = join(import.meta.dirname, "../..");
if (!TEST_POSTGRES_URL)
  throw new Error(
    "test/postgres needs CIRCLE_TEST_POSTGRES_URL: run it with npm run test:postgres",
  );
const ADMIN = TEST_POSTGRES_URL;

const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
});

async function fresh(opts: { migrated?: boolean } = {}) {
  const d = await newPostgresDatabase(ADMIN, opts);
  drops.push(d.drop);
  return d.url;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Tables, columns, constraints and indexes, as text that compares equal for equal schemas. */
async function catalog(url: string): Promise<string[]> {
  const columns = await query<Record<string, string>>(
    url,
    `SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') AS d
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
  );
  const constraints = await query<Record<string, string>>(
    url,
    `SELECT c.relname AS t, k.conname AS n, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = 'public' AND c.relname <> '_prisma_migrations'`,
  );
  const indexes = await query<Record<string, string>>(
    url,
    `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
  );
  return [
    ...columns.map(
      (c) => `column ${c.table_name}.${c.column_name} ${c.data_type} ${c.is_nullable} ${c.d}`,
    ),
    ...constraints.map((c) => `constraint ${c.t}.${c.n} ${c.def}`),
    ...indexes.map((i) => `index ${i.indexdef}`),
  ].sort();
}

describe("PostgreSQL schema and migrations", () => {
  it("the committed migrations build the schema of prisma/postgres/schema.prisma", async () => {
    const migrated = await fresh();
    const fromModel = await fresh({ migrated: false });
    const script = execFileSync(
      "npx",
      [
        "prisma",
        "migrate",
        "diff",
        "--from-empty",
        "--to-schema-datamodel",
        "prisma/postgres/schema.prisma",
        "--script",
      ],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    await query(fromModel, script);
    const a = await catalog(migrated);
    expect(a.length).toBeGreaterThan(100);
    expect(a).toEqual(await catalog(fromModel));
    // The audit chain starts at its genesis head.
    expect(await query(migrated, `SELECT "id", "seq", "hash" FROM "AuditHead"`)).toEqual([
      { id: 1, seq: 0, hash: "0".repeat(64) },
    ]);
  });

  it("circle db status and db migrate: pending by name, exit 1 while pending, applied once, 0 when current", async () => {
    const url = await fresh({ migrated: false });
    const names = committedMigrations("postgres");
    const before = await runCircle(url, ["db", "status", "--json"]);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.out)).toMatchObject({
      engine: "postgres",
      reachable: true,
      current: false,
      applied: [],
      pending: names,
    });
    expect(before.out).not.toMatch(/password/);
    // Two entry points migrating at once apply each migration exactly once.
    const [m1, m2] = await Promise.all([
      runCircle(url, ["db", "migrate", "--json"]),
      runCircle(url, ["db", "migrate", "--json"]),
    ]);
    expect([m1.code, m2.code]).toEqual([0, 0]);
    const applied = [m1, m2].map((m) => (JSON.parse(m.out) as { applied: string[] }).applied);
    expect(applied.flat().sort()).toEqual([...names].sort());
    const after = await runCircle(url, ["db", "status"]);
    expect(after.code).toBe(0);
    expect(after.out).toMatch(/^engine: +postgres$/m);
    expect(after.out).toMatch(new RegExp(`^applied: +${names.join(", ")}$`, "m"));
    expect(after.out).toMatch(/^pending: +none$/m);
    const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM "_prisma_migrations"`);
    expect(Number(rows[0]!.n)).toBe(names.length);
  });

  it("an unreachable server is reported, not thrown (exit 1)", async () => {
    const r = await runCircle("postgresql://circle@127.0.0.1:1/nowhere", [
      "db",
      "status",
      "--json",
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ engine: "postgres", reachable: false });
  });

  it("db backup names pg_dump; a pg_dump taken while Circle writes restores into a database that verifies", async () => {
    const url = await fresh();
    const hint = await runCircle(url, ["db", "backup", "/tmp/x.dump"]);
    expect(hint.code).toBe(1);
    expect(hint.err).toMatch(/pg_dump --format=custom/);

    const db = await openDatabase(url);
    for (let i = 0; i < 20; i++)
      await addParticipant(
        db,
        { code: `PG-${i}`, arm: "control", gender: "male", ageYears: 7 },
        { kind: "cli" },
      );
    // Writes go on during the dump.
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing)
        await db.$transaction((tx) =>
          audit(tx, {
            actor: { kind: "system" },
            action: "test.tick",
            entity: "Test",
            entityId: n++,
          }),
        );
    })();
    const dump = join(ROOT, ".tmp", `pg-${Date.now()}.dump`);
    execFileSync("mkdir", ["-p", join(ROOT, ".tmp")]);
    execFileSync("pg_dump", ["--format=custom", `--file=${dump}`, url]);
    writing = false;
    await writer;
    await db.$disconnect();

    const restored = await fresh({ migrated: false });
    execFileSync("pg_restore", ["--no-owner", `--dbname=${restored}`, dump]);
    execFileSync("rm", ["-f", dump]);
    const copy = await openDatabase(restored);
    try {
      expect(await copy.participant.count()).toBe(20);
      const chain = await verifyAuditChain(copy);
      expect(chain.ok).toBe(true);
      expect(chain.events).toBeGreaterThanOrEqual(20);
      expect((await runCircle(restored, ["db", "status", "--json"])).code).toBe(0);
      expect((await runCircle(restored, ["audit", "verify"])).code).toBe(0);
    } finally {
      await copy.$disconnect();
    }
  });
});
