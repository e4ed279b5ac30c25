// The questionnaire conversation's pure step logic: an instrument compiles into an XState machine
// (src/domain/questionnaire), and `Questionnaire.step(state, event)` returns the next state, whether it was
// accepted (or why not) and the effect to write; `view(state)` is what the chat shows (the item,
// its options, whether Back and Skip apply). The engine stays where it is (src/domain/questionnaire, documented
// and benchmarked there); this module names it as the questionnaire kind among the conversation
// machines, so every kind is found under src/domain/conversations.
export {
  compileQuestionnaire,
  machineVersionOf,
  ENGINE_VERSION,
  TEXT_MAX_LENGTH,
  Questionnaire,
} from "../questionnaire/index.js";
export type {
  AnswerValue,
  Answers,
  CompileOptions,
  EngineEvent,
  PersistedState,
  RejectReason,
  StepEffect,
  StepResult,
  View,
} from "../questionnaire/index.js";
