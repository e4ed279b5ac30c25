import type { Command } from "commander";
import { migrateDatabase } from "../../db/migrate.js";
import type { GetContext } from "./index.js";

export function registerDb(program: Command, ctx: GetContext): void {
  const db = program.command("db").description("database maintenance");
  db.command("migrate")
    .description(
      "apply pending migrations to DATABASE_URL (every entry point also does this itself)",
    )
    .option("--json", "machine-readable output")
    .option("--quiet", "print nothing on success")
    .action((opts: { json?: boolean; quiet?: boolean }) => {
      const c = ctx();
      const r = migrateDatabase(c.config.DATABASE_URL);
      if (opts.json) c.json(r);
      else if (!opts.quiet)
        c.out(
          r.applied.length
            ? `applied ${r.applied.length} migration(s): ${r.applied.join(", ")}`
            : `database up to date (${r.alreadyApplied} migration(s))`,
        );
    });
}
