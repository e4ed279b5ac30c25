// Questionnaire engine: compiles an instrument into an XState machine and steps it purely.
import type { Instrument } from "../../study/model.js";
import { Questionnaire } from "./questionnaire.js";

/**
 * Bump when the machine shape or context layout changes: stored snapshots then get rebuilt from
 * answers. 2: one state per item (was: phases with the position in context).
 */
export const ENGINE_VERSION = 2;

export interface CompileOptions {
  /** Start with a handoff step ("please give the phone to your child"); default: child-report instruments. */
  handoff?: boolean;
}

const compiled = new Map<string, Questionnaire>();

export function machineVersionOf(instrument: Instrument, handoff: boolean): string {
  return `e${ENGINE_VERSION}.${instrument.hash.slice(0, 16)}.${handoff ? "handoff" : "direct"}`;
}

/** Compiles once per machine version; later calls return the cached questionnaire. */
export function compileQuestionnaire(
  instrument: Instrument,
  options: CompileOptions = {},
): Questionnaire {
  const handoff = options.handoff ?? instrument.respondent === "child";
  const machineVersion = machineVersionOf(instrument, handoff);
  let q = compiled.get(machineVersion);
  if (!q) {
    q = new Questionnaire(instrument, `questionnaire-${instrument.id}`, machineVersion, handoff);
    compiled.set(machineVersion, q);
  }
  return q;
}

export { Questionnaire };
export type {
  PersistedState,
  RejectReason,
  StepEffect,
  StepResult,
  View,
} from "./questionnaire.js";
export type { EngineEvent, Phase, StateName } from "./machine.js";
export type { AnswerValue, Answers } from "./progress.js";
export { TEXT_MAX_LENGTH } from "./progress.js";
