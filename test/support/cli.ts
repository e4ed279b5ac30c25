// Runs the `circle` command line in-process against a test database, capturing its output.
import { runCli } from "../../src/cli/program.js";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCircle(
  databaseUrl: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  let out = "";
  let err = "";
  const r = await runCli(args, {
    env: { DATABASE_URL: databaseUrl, LOG_LEVEL: "silent", ...env },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code: r.code, out, err };
}
