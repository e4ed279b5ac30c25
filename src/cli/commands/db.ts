import type { Command } from "commander";
import { migrate } from "../../db/migrate.js";
import { databaseStatus } from "../../db/status.js";
import { backupDatabase, restoreDatabase, DatabaseFileError } from "../../db/backup.js";
import { CliFailure } from "../context.js";
import type { GetContext } from "./index.js";

/** 1234567 → "1.2 MB" (decimal units, like `ls -h --si`). */
function humanBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Database file errors become one-line failures (exit 1). */
async function fileOp<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (e instanceof DatabaseFileError) throw new CliFailure(e.message);
    throw e;
  }
}

export function registerDb(program: Command, ctx: GetContext): void {
  const db = program.command("db").description("database maintenance");
  db.command("migrate")
    .description(
      "apply pending migrations to DATABASE_URL (every entry point also does this itself)",
    )
    .option("--json", "machine-readable output")
    .option("--quiet", "print nothing on success")
    .action(async (opts: { json?: boolean; quiet?: boolean }) => {
      const c = ctx();
      const r = await migrate(c.config.DATABASE_URL);
      if (opts.json) c.json(r);
      else if (!opts.quiet)
        c.out(
          r.applied.length
            ? `applied ${r.applied.length} migration(s): ${r.applied.join(", ")}`
            : `database up to date (${r.alreadyApplied} migration(s))`,
        );
    });

  db.command("status")
    .description(
      "engine, database file and migrations applied vs pending; exit 1 when pending or unreachable",
    )
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      // Read only: status must not create, migrate or otherwise change the database it reports on.
      const s = await databaseStatus(c.config.DATABASE_URL);
      if (opts.json) c.json(s);
      else {
        const lines = [
          `engine:     ${s.engine}`,
          `database:   ${s.file}${s.sizeBytes !== null ? ` (${humanBytes(s.sizeBytes)})` : ""}`,
          `reachable:  ${s.reachable ? "yes" : `no (${s.error})`}`,
        ];
        if (s.reachable) {
          lines.push(`applied:    ${s.applied.length ? s.applied.join(", ") : "none"}`);
          lines.push(`pending:    ${s.pending.length ? s.pending.join(", ") : "none"}`);
          if (s.unknown.length)
            lines.push(`unknown:    ${s.unknown.join(", ")} (applied by a newer Circle)`);
        }
        c.out(lines.join("\n"));
      }
      if (!s.reachable) throw new CliFailure("the database is unreachable");
      if (s.pending.length)
        throw new CliFailure(
          `${s.pending.length} migration(s) pending: run \`circle db migrate\` (the bot also applies them at start)`,
        );
      if (s.unknown.length)
        throw new CliFailure(
          `the database has migration(s) this version of Circle does not know: ${s.unknown.join(", ")}`,
        );
    });

  db.command("backup <file>")
    .description(
      "a consistent copy of the SQLite database, taken while the bot keeps running (online backup API)",
    )
    .option("--force", "overwrite <file> if it exists")
    .option("--json", "machine-readable output")
    .action(async (file: string, opts: { force?: boolean; json?: boolean }) => {
      const c = ctx();
      const r = await fileOp(() => backupDatabase(c.config.DATABASE_URL, file, opts));
      if (opts.json) c.json(r);
      else
        c.out(
          `backup written: ${r.file}\nsize:   ${r.bytes} bytes (${humanBytes(r.bytes)})\nsha256: ${r.sha256}`,
        );
    });

  db.command("restore <backup>")
    .description(
      "replace the database at DATABASE_URL with a backup; refuses while a process has it open",
    )
    .option("--force", "replace an existing database (it is kept as <file>.before-restore-<time>)")
    .option("--json", "machine-readable output")
    .action(async (backup: string, opts: { force?: boolean; json?: boolean }) => {
      const c = ctx();
      const r = await fileOp(() => restoreDatabase(backup, c.config.DATABASE_URL, opts));
      if (opts.json) c.json(r);
      else {
        const lines = [
          `restored:  ${r.file}`,
          `from:      ${r.from}`,
          `size:      ${r.bytes} bytes (${humanBytes(r.bytes)})`,
          `sha256:    ${r.sha256}`,
        ];
        if (r.previous) lines.push(`previous database kept as ${r.previous}`);
        if (r.pendingMigrations.length)
          lines.push(
            `pending migrations (applied when the bot starts, or by \`circle db migrate\`): ${r.pendingMigrations.join(", ")}`,
          );
        c.out(lines.join("\n"));
      }
    });
}
