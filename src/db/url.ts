import { dirname, resolve } from "node:path";

/** `file:./data/circle.db` (Prisma's SQLite URL form) → an absolute file path. */
export function sqlitePath(url: string): string {
  const withoutScheme = url.startsWith("file:") ? url.slice("file:".length) : url;
  const path = withoutScheme.split("?")[0] ?? withoutScheme;
  if (path === ":memory:") return path;
  return resolve(process.cwd(), path);
}

export function sqliteDir(url: string): string {
  return dirname(sqlitePath(url));
}

export type Engine = "sqlite" | "postgres";

/** `postgresql://…` or `postgres://…` → PostgreSQL; anything else (`file:…`) → SQLite. */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

export const engineOfUrl = (url: string): Engine => (isPostgresUrl(url) ? "postgres" : "sqlite");
