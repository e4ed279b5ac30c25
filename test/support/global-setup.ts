// Runs once before the suite: make sure the Prisma client exists (a fresh clone gets it from
// `npm install`'s postinstall; this guards runs where scripts were skipped).
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

export default function setup(): void {
  if (!existsSync("src/generated/prisma/client.ts")) {
    execFileSync("npx", ["prisma", "generate"], { stdio: "inherit" });
  }
}
