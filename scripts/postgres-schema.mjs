#!/usr/bin/env node
// Writes prisma/postgres/schema.prisma from prisma/schema.prisma, the one source of truth for the
// data model. Prisma needs one schema per provider; only the datasource and the client's output
// folder differ (test/store/schema-engines.test.ts checks the committed file is this output).
//
//   node scripts/postgres-schema.mjs           rewrites the file
//   node scripts/postgres-schema.mjs --print   prints it instead
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function postgresSchema(sqliteSchema) {
  const replace = (text, from, to) => {
    if (!text.includes(from)) throw new Error(`prisma/schema.prisma no longer contains: ${from}`);
    return text.replace(from, to);
  };
  let s = sqliteSchema;
  s = replace(
    s,
    'output       = "../src/generated/prisma"',
    'output       = "../../src/generated/prisma-pg"',
  );
  s = replace(s, 'provider = "sqlite"', 'provider = "postgresql"');
  s = replace(
    s,
    'url      = "file:./data/circle.db"',
    'url      = "postgresql://localhost/circle"',
  );
  return `// GENERATED from prisma/schema.prisma by scripts/postgres-schema.mjs: do not edit by hand.\n${s}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = postgresSchema(readFileSync(join(root, "prisma/schema.prisma"), "utf8"));
  if (process.argv.includes("--print")) process.stdout.write(out);
  else writeFileSync(join(root, "prisma/postgres/schema.prisma"), out);
}
