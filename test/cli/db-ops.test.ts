// `circle db status`, `circle db backup` and `circle db restore` on real SQLite files, with the
// backup taken while another process keeps committing (as the running bot would).
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listMigrations, migrateDatabase, MIGRATIONS_DIR } from "../../src/db/migrate.js";
import { runCircle } from "../support/cli.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

let dir: string;
let writer: ChildProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "circle-dbops-"));
});
afterEach(async () => {
  if (writer && writer.exitCode === null && writer.signalCode === null) {
    const gone = new Promise((r) => writer!.once("exit", r));
    writer.kill("SIGKILL");
    await gone;
  }
  writer = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Rows per table, read straight from the file. */
function rowCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = (
      db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
        .all() as { name: string }[]
    ).map((t) => t.name);
    return Object.fromEntries(
      tables
        .sort()
        .map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n]),
    );
  } finally {
    db.close();
  }
}

/**
 * Another process that adds participants one transaction at a time (each with its audit event)
 * and prints the running count after every commit.
 */
function startWriter(url: string): {
  proc: ChildProcess;
  committed(): number;
  waitFor(n: number): Promise<void>;
} {
  const script = join(dir, "writer.mts");
  const src = (p: string) => pathToFileURL(join(ROOT, p)).href;
  // Written at test time so that the writer is plain app code run by tsx, like the bot.
  const code = `
import { openDatabase } from ${JSON.stringify(src("src/db/client.ts"))};
import { addParticipant } from ${JSON.stringify(src("src/usecases/participants.ts"))};
const db = await openDatabase(process.env.DATABASE_URL!);
let stop = false;
process.on("SIGTERM", () => { stop = true; });
for (let i = 1; !stop && i <= 100000; i++) {
  await addParticipant(db, { code: "WR-" + String(i).padStart(5, "0"), arm: i % 2 ? "experimental" : "control", gender: i % 3 ? "female" : "male", ageYears: 5 + (i % 8) }, { kind: "cli" });
  process.stdout.write(i + "\\n");
  // Let the event loop run (signals are handled there; the inserts alone never yield to it).
  await new Promise((r) => setImmediate(r));
}
await db.$disconnect();
`;
  writeFile(script, code);
  const proc = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATABASE_URL: url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let count = 0;
  let err = "";
  const waiters = new Set<() => void>();
  let buffered = "";
  proc.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const l of lines) if (l.trim()) count = Number(l);
    for (const w of waiters) w();
  });
  proc.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  return {
    proc,
    committed: () => count,
    waitFor: (n) =>
      new Promise<void>((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`writer stalled at ${count}: ${err}`)),
          60_000,
        );
        const check = () => {
          if (count >= n) {
            clearTimeout(timer);
            waiters.delete(check);
            done();
          }
        };
        waiters.add(check);
        proc.once("exit", (code) => fail(new Error(`writer exited (${code}) at ${count}: ${err}`)));
        check();
      }),
  };
}

function writeFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

describe("circle db status", () => {
  it("reports a missing database as unreachable, exits 1 and creates nothing", async () => {
    const url = `file:${join(dir, "none.db")}`;
    const r = await runCircle(url, ["db", "status", "--json"]);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.out) as Record<string, unknown>;
    expect(s).toMatchObject({ engine: "sqlite", reachable: false, current: false });
    expect(s.file).toBe(join(dir, "none.db"));
    expect(r.err).toMatch(/unreachable/);
    expect(existsSync(join(dir, "none.db"))).toBe(false);
  });

  it("lists applied and pending migrations by name; exit 1 while pending, 0 once migrated", async () => {
    // A database migrated by an older Circle: only the first committed migration.
    const old = join(dir, "old-migrations");
    cpSync(join(MIGRATIONS_DIR, "0001_init"), join(old, "0001_init"), { recursive: true });
    const url = `file:${join(dir, "circle.db")}`;
    migrateDatabase(url, old);

    const later = listMigrations()
      .map((m) => m.name)
      .slice(1);
    const pending = await runCircle(url, ["db", "status", "--json"]);
    expect(pending.code).toBe(1);
    expect(JSON.parse(pending.out)).toMatchObject({
      engine: "sqlite",
      reachable: true,
      current: false,
      applied: ["0001_init"],
      pending: later,
      unknown: [],
    });
    expect(pending.err).toMatch(
      new RegExp(`${later.length} migration\\(s\\) pending: run \`circle db migrate\``),
    );
    const text = await runCircle(url, ["db", "status"]);
    expect(text.out).toMatch(/^engine: +sqlite$/m);
    expect(text.out).toMatch(/^applied: +0001_init$/m);
    expect(text.out).toMatch(new RegExp(`^pending: +${later.join(", ")}$`, "m"));

    expect((await runCircle(url, ["db", "migrate"])).out).toMatch(
      new RegExp(`applied ${later.length} migration`),
    );
    const current = await runCircle(url, ["db", "status", "--json"]);
    expect(current.code).toBe(0);
    expect(JSON.parse(current.out)).toMatchObject({
      current: true,
      applied: ["0001_init", ...later],
      pending: [],
    });
  });
});

describe("circle db backup and restore", () => {
  it("backs up while another process commits, and the restored copy verifies with the same rows", async () => {
    const file = join(dir, "live", "circle.db");
    const url = `file:${file}`;
    migrateDatabase(url);
    // Some bulk (8 MB), so that copying takes a while and the writer commits during the copy.
    const pad = new Database(file);
    pad
      .prepare(`INSERT INTO "Setting" ("key", "value") VALUES ('test.padding', ?)`)
      .run("x".repeat(8_000_000));
    pad.close();
    const w = startWriter(url);
    writer = w.proc;
    await w.waitFor(30);

    const backup = join(dir, "backups", "circle-1.db");
    mkdirSync(dirname(backup));
    const before = w.committed();
    const r = await runCircle(url, ["db", "backup", backup, "--json"]);
    const after = w.committed();
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as {
      file: string;
      bytes: number;
      sha256: string;
      pages: number;
    };
    expect(result.file).toBe(backup);
    expect(result.bytes).toBe(statSync(backup).size);
    expect(result.sha256).toBe(sha256(backup));
    // One self-contained file: nothing beside it.
    expect(existsSync(`${backup}-wal`)).toBe(false);

    // While the writer runs, restoring over its database is refused (it holds the file).
    const refused = await runCircle(url, ["db", "restore", backup, "--force"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(new RegExp(`is open in process ${w.proc.pid}.*stop the bot`));

    await w.waitFor(after + 20);
    const gone = new Promise((res) => w.proc.once("exit", res));
    w.proc.kill("SIGTERM");
    await gone;
    const final = w.committed();

    // The backup is one moment of the live database: a whole number of writer transactions
    // (each participant with its audit event), taken while the writer was committing.
    const counts = rowCounts(backup);
    expect(counts.Participant).toBe(counts.AuditEvent);
    // The writer was not held up by the backup: it kept committing while the copy was made.
    expect(after).toBeGreaterThan(before);
    expect(counts.Participant).toBeGreaterThanOrEqual(before);
    expect(counts.Participant).toBeLessThanOrEqual(after);
    expect(counts.Participant).toBeLessThan(final);
    expect(rowCounts(file).Participant).toBe(final);

    // Restore into a fresh path; the restored database verifies and has the backup's rows.
    const freshUrl = `file:${join(dir, "restored", "circle.db")}`;
    mkdirSync(join(dir, "restored"));
    const restored = await runCircle(freshUrl, ["db", "restore", backup]);
    expect(restored.err).toBe("");
    expect(restored.code).toBe(0);
    expect(restored.out).toContain(`sha256:    ${result.sha256}`);
    const verify = await runCircle(freshUrl, ["audit", "verify"]);
    expect(verify.code).toBe(0);
    expect(verify.out).toBe(`audit chain ok: ${counts.AuditEvent} events\n`);
    expect(rowCounts(join(dir, "restored", "circle.db"))).toEqual(counts);
    const status = await runCircle(freshUrl, ["db", "status", "--json"]);
    expect(status.code).toBe(0);

    // And over the live database once nothing holds it: the old file is kept, not deleted.
    const noForce = await runCircle(url, ["db", "restore", backup]);
    expect(noForce.code).toBe(1);
    expect(noForce.err).toMatch(/already exists; add --force/);
    const forced = await runCircle(url, ["db", "restore", backup, "--force", "--json"]);
    expect(forced.code).toBe(0);
    const fr = JSON.parse(forced.out) as { previous: string; sha256: string };
    expect(fr.sha256).toBe(result.sha256);
    expect(rowCounts(fr.previous).Participant).toBe(final);
    expect(rowCounts(file)).toEqual(counts);
    expect((await runCircle(url, ["audit", "verify"])).code).toBe(0);
    console.log(
      `db backup under load: writer committed ${before}→${after} during the backup (${final} in all); ` +
        `backup ${result.bytes} bytes, ${counts.Participant} participants = ${counts.AuditEvent} audit events`,
    );
  }, 120_000);

  it("refuses to overwrite an existing file without --force, and says so", async () => {
    const url = `file:${join(dir, "circle.db")}`;
    migrateDatabase(url);
    const backup = join(dir, "b.db");
    expect((await runCircle(url, ["db", "backup", backup])).code).toBe(0);
    const first = sha256(backup);
    await runCircle(url, [
      "participant",
      "add",
      "BK-001",
      "--arm",
      "control",
      "--gender",
      "male",
      "--age",
      "7",
    ]);
    const again = await runCircle(url, ["db", "backup", backup]);
    expect(again.code).toBe(1);
    expect(again.err).toBe(`circle: ${backup} already exists; add --force to overwrite it\n`);
    expect(sha256(backup)).toBe(first);
    const forced = await runCircle(url, ["db", "backup", backup, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(
      new RegExp(
        `^backup written: ${backup}\\nsize: +\\d+ bytes \\(.+\\)\\nsha256: ${sha256(backup)}\\n$`,
      ),
    );
    expect(sha256(backup)).not.toBe(first);
    expect(rowCounts(backup).Participant).toBe(1);
  });

  it("refuses a file that is not a Circle database, leaving the target untouched", async () => {
    const url = `file:${join(dir, "circle.db")}`;
    const junk = join(dir, "junk.db");
    writeFile(junk, "not a database at all, just text");
    const r = await runCircle(url, ["db", "restore", junk]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the backup is not a readable SQLite database/);
    expect(existsSync(join(dir, "circle.db"))).toBe(false);
  });
});
