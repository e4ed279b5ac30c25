// One file per command group; each exports a register function.
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { registerDb } from "./db.js";
import { registerFlows } from "./flows.js";
import { registerCodebook } from "./codebook.js";
import { registerInvite } from "./invite.js";
import { registerParticipant } from "./participant.js";
import { registerProgress } from "./progress.js";
import { registerExport } from "./export.js";
import { registerImport } from "./import.js";
import { registerReport } from "./report.js";
import { registerAudit } from "./audit.js";
import { registerTimepoint } from "./timepoint.js";
import { registerGroup } from "./group.js";

export type GetContext = () => CliContext;

export function registerCommands(program: Command, ctx: GetContext): void {
  registerDb(program, ctx);
  registerFlows(program, ctx);
  registerCodebook(program, ctx);
  registerParticipant(program, ctx);
  registerInvite(program, ctx);
  registerProgress(program, ctx);
  registerExport(program, ctx);
  registerImport(program, ctx);
  registerReport(program, ctx);
  registerAudit(program, ctx);
  registerTimepoint(program, ctx);
  registerGroup(program, ctx);
}
