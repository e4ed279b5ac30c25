// The `circle` command line. Exit codes: 0 ok, 1 failure, 2 usage error (one line on stderr).
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/env.js";
import { createCliContext, CliFailure, UsageError, type CliContext } from "./context.js";
import { registerCommands } from "./commands/index.js";

export interface RunResult {
  code: number;
}

export async function runCli(
  argv: string[],
  io: {
    env?: NodeJS.ProcessEnv;
    stdout?: (s: string) => void;
    stderr?: (s: string) => void;
  } = {},
): Promise<RunResult> {
  const stdout = io.stdout ?? ((s: string) => process.stdout.write(s));
  const stderr = io.stderr ?? ((s: string) => process.stderr.write(s));
  let ctx: CliContext | undefined;
  const getCtx = (): CliContext => {
    ctx ??= createCliContext({ env: io.env ?? process.env, write: stdout });
    return ctx;
  };
  const program = new Command("circle")
    .description("Circle: run and evaluate a group intervention study")
    .showHelpAfterError(false)
    .configureOutput({ writeOut: stdout, writeErr: stderr, outputError: () => {} })
    .exitOverride();
  registerCommands(program, getCtx);
  for (const cmd of program.commands) applyExitOverride(cmd, stdout, stderr);
  try {
    await program.parseAsync(argv, { from: "user" });
    return { code: 0 };
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.exitCode === 0
      ) {
        return { code: 0 };
      }
      if (err.code === "commander.executeSubCommandAsync") return { code: 1 };
      stderr(`circle: ${err.message.replace(/^error: /, "")}\n`);
      return { code: 2 };
    }
    if (err instanceof UsageError) {
      stderr(`circle: ${err.message}\n`);
      return { code: 2 };
    }
    if (err instanceof CliFailure) {
      stderr(`circle: ${err.message}\n`);
      if (err.details) stderr(`${err.details}\n`);
      return { code: 1 };
    }
    if (err instanceof ConfigError) {
      stderr(`circle: ${err.message}\n`);
      return { code: 1 };
    }
    stderr(`circle: ${err instanceof Error ? err.message : String(err)}\n`);
    return { code: 1 };
  } finally {
    await ctx?.close();
  }
}

function applyExitOverride(cmd: Command, stdout: (s: string) => void, stderr: (s: string) => void) {
  cmd.exitOverride().configureOutput({ writeOut: stdout, writeErr: stderr, outputError: () => {} });
  for (const sub of cmd.commands) applyExitOverride(sub, stdout, stderr);
}
