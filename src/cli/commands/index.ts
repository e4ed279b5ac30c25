// One file per command group; each exports a register function.
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { registerDb } from "./db.js";

export type GetContext = () => CliContext;

export function registerCommands(program: Command, ctx: GetContext): void {
  registerDb(program, ctx);
}
