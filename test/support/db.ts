// A real SQLite file per test (migrated through the same code as production).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../../src/db/client.js";

export interface TempDb {
  url: string;
  dir: string;
  db: Db;
  cleanup(): Promise<void>;
}

export async function tempDatabase(): Promise<TempDb> {
  const dir = mkdtempSync(join(tmpdir(), "circle-test-"));
  const url = `file:${join(dir, "circle.db")}`;
  const db = await openDatabase(url);
  return {
    url,
    dir,
    db,
    async cleanup() {
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
