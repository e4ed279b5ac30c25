#!/usr/bin/env node
// `npm run db:migration -- <name>`: after editing prisma/schema.prisma, writes the migration for
// both engines (prisma/migrations/NNNN_<name>, prisma/migrations-postgres/NNNN_<name>) as the
// difference between the schema committed at HEAD and the edited one, regenerates the PostgreSQL
// schema and both clients. Offline: Prisma's wasm schema engine, no database needed.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { postgresSchema } from "./postgres-schema.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:migration -- <name>   (lower case, digits and _)");
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), "circle-migration-"));
const before = execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], {
  cwd: root,
  encoding: "utf8",
});
const after = readFileSync(join(root, "prisma/schema.prisma"), "utf8");
writeFileSync(join(root, "prisma/postgres/schema.prisma"), postgresSchema(after));

const prisma = (args) =>
  execFileSync("npx", ["prisma", ...args], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
const next = (dir) => {
  const n = readdirSync(dir).filter((d) => /^\d{4}_/.test(d)).length + 1;
  return join(dir, `${String(n).padStart(4, "0")}_${name}`);
};
for (const [dir, from, to] of [
  [join(root, "prisma/migrations"), before, after],
  [join(root, "prisma/migrations-postgres"), postgresSchema(before), postgresSchema(after)],
]) {
  writeFileSync(join(tmp, "from.prisma"), from);
  writeFileSync(join(tmp, "to.prisma"), to);
  const sql = prisma([
    "migrate",
    "diff",
    "--script",
    "--from-schema-datamodel",
    join(tmp, "from.prisma"),
    "--to-schema-datamodel",
    join(tmp, "to.prisma"),
  ]);
  const out = next(dir);
  mkdirSync(out);
  writeFileSync(join(out, "migration.sql"), sql);
  console.log(`wrote ${out}/migration.sql`);
}
prisma(["generate"]);
prisma(["generate", "--schema", "prisma/postgres/schema.prisma"]);
console.log(
  "regenerated both Prisma clients; review the SQL, then run npm test and npm run test:postgres",
);
