// What every CLI command receives: configuration, and lazily opened database and flows.
// Commands stay thin: parse arguments, call the domain modules, print.
import { loadConfig, type Config } from "../config/env.js";
import { openDatabase, type Db } from "../db/client.js";
import { loadFlows } from "../study/load.js";
import type { LoadedFlows } from "../study/model.js";

/** Exit 2: the command line itself is wrong. */
export class UsageError extends Error {}
/** Exit 1: the command ran and failed (message is one line for the user). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

export interface CliContext {
  config: Config;
  db(): Promise<Db>;
  flows(): Promise<LoadedFlows>;
  out(text: string): void;
  json(value: unknown): void;
  close(): Promise<void>;
}

export function createCliContext(
  opts: { env?: NodeJS.ProcessEnv; write?: (s: string) => void } = {},
): CliContext {
  const config = loadConfig(opts.env ?? process.env);
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  let db: Db | undefined;
  let flows: LoadedFlows | undefined;
  return {
    config,
    async db() {
      db ??= await openDatabase(config.DATABASE_URL, {
        synchronous: config.SQLITE_SYNCHRONOUS,
        poolSize: config.PG_POOL_SIZE,
      });
      return db;
    },
    async flows() {
      if (!flows) {
        const r = loadFlows({ flowsDir: config.FLOWS_DIR, extraDir: config.EXTRA_FLOWS_DIR });
        if (!r.ok) {
          throw new CliFailure(
            `flows have ${r.errors.length} error(s); run \`circle flows check\``,
            r.errors.join("\n"),
          );
        }
        flows = r.flows;
      }
      return flows;
    },
    out(text) {
      write(text.endsWith("\n") ? text : `${text}\n`);
    },
    json(value) {
      write(`${JSON.stringify(value, null, 2)}\n`);
    },
    async close() {
      await db?.$disconnect();
    },
  };
}
