// A questionnaire as a conversation kind: one response set answered item by item. The machine is
// the instrument's compiled questionnaire (src/domain/questionnaire, pure); the state carries what
// the step and the view need besides the engine snapshot (the set, the instrument, the answers as
// stored, whom a facilitator's rating is about); the effects are the answer rows, the set's
// status and its completion (src/usecases/answers.ts), written inside the step's transaction.
// The machine version is the instrument's: a snapshot of an older version is migrated from the
// answer rows on load, and a button sent under another version is stale (its tag differs).
import type { Db, Tx } from "../db/client.js";
import {
  compileQuestionnaire,
  type PersistedState,
  type Questionnaire,
  type RejectReason,
  type StepResult,
  type View,
} from "../domain/questionnaire/index.js";
import { t, type Instrument, type Item, type LoadedFlows } from "../study/model.js";
import {
  childAsKnownTo,
  responseSetFacts,
  storedAnswers,
  type ResponseSetFacts,
} from "../store/questionnaire.js";
import { recordQuestionnaireStep } from "../usecases/answers.js";
import { escapeHtml } from "./text.js";
import type { Button, ConversationKind, Screen } from "./kind.js";

export interface QuestionnaireConv {
  rs: ResponseSetFacts;
  instrument: Instrument;
  q: Questionnaire;
  /** Answers as stored when the conversation was loaded (for corrections' audit). */
  stored?: Record<string, number | string | null>;
  /** Whom a facilitator's set is about (the child's code, or their private nickname for it). */
  subject: string | null;
  state: PersistedState;
}

export type QuestionnaireAction = "a" | "b" | "s" | "p" | "r";

export type QuestionnaireInput =
  | { type: "press"; action: QuestionnaireAction; option?: number }
  /** A typed answer to the item on screen, already parsed by the adapter. */
  | { type: "answer"; itemId: string; value: number | string }
  /** Continue a paused set. */
  | { type: "resume" };

export interface QuestionnaireEffect {
  result: StepResult;
  /** A resume writes nothing but the state (the set stays "paused" until the next answer). */
  resume: boolean;
}

export interface QuestionnaireEnv {
  db: Db;
  accountId: number;
  locale: string;
  tr(key: string, vars?: Record<string, string | number>): string;
  now(): Date;
  flows: LoadedFlows;
  onMissingInstrument?(responseSetId: number, instrumentId: string): void;
  /**
   * What the conversation's owner writes when a set completes, in the completing step's
   * transaction (a session log: the child's Observation rows or the Reflection).
   */
  onComplete?(tx: Tx, responseSetId: number): Promise<void>;
}

export type QuestionnaireKind = ConversationKind<
  QuestionnaireConv,
  QuestionnaireInput,
  QuestionnaireEffect,
  RejectReason
> & {
  /** The conversation state for a set about to be started (null: its instrument is gone). */
  open(rs: ResponseSetFacts): Promise<QuestionnaireConv | null>;
};

function compileFor(instrument: Instrument, respondent: string): Questionnaire {
  return compileQuestionnaire(instrument, { handoff: respondent === "child" });
}

export function optionLabel(
  item: Item,
  value: number | string | null | undefined,
  locale: string,
): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  const o = item.options.find((x) => x.value === value);
  return o ? t(o.label, locale) : String(value);
}

/** The screen of a view: the item with its progress, options, Back / Skip / Pause; the hand-off. */
export function questionnaireScreen(
  conv: QuestionnaireConv,
  view: View,
  env: { locale: string; tr: QuestionnaireEnv["tr"] },
): Screen {
  const { locale, tr } = env;
  const title = t(conv.instrument.title, locale);
  const nav = (text: string, op: "b" | "s" | "p" | "r"): Button => ({ text, op });
  if (view.kind === "handoff")
    return { html: tr("q-handoff", { title }), buttons: [[nav(tr("q-handoff-ready"), "r")]] };
  if (view.kind !== "item") return { html: "", buttons: [] };
  const item = view.item;
  const lines = [
    `<b>${escapeHtml(title)}</b> · ${tr("q-progress", { n: view.number, total: view.total })}`,
    ...(conv.subject ? [`👤 ${escapeHtml(conv.subject)}`] : []),
    "",
    escapeHtml(t(item.text, locale)),
  ];
  if (view.answer !== undefined)
    lines.push(
      "",
      `<i>${tr("q-current-answer", { answer: optionLabel(item, view.answer, locale) })}</i>`,
    );
  const buttons: Button[][] = [];
  if (item.type === "choice") {
    const options = item.options.map((o, i): Button => ({
      text: t(o.label, locale),
      op: "a",
      arg: i,
    }));
    // Short numeric labels fit several to a row; sentences get a row each.
    const short = options.every((b) => b.text.length <= 3);
    const perRow = short ? 6 : options.every((b) => b.text.length <= 12) ? 2 : 1;
    for (let i = 0; i < options.length; i += perRow) buttons.push(options.slice(i, i + perRow));
  } else if (item.type === "number") {
    lines.push("", `<i>${tr("q-type-number", { min: item.min ?? 0, max: item.max ?? 0 })}</i>`);
  } else {
    lines.push("", `<i>${tr("q-type-text")}</i>`);
  }
  const row: Button[] = [];
  if (view.number > 1) row.push(nav(tr("q-back"), "b"));
  if (!item.required) row.push(nav(tr("q-skip"), "s"));
  row.push(nav(tr("q-pause"), "p"));
  buttons.push(row);
  return { html: lines.join("\n"), buttons };
}

export function questionnaireKind(env: QuestionnaireEnv): QuestionnaireKind {
  /** A facilitator rates a child: name the child on every question (code, or their nickname). */
  async function subjectOf(rs: ResponseSetFacts): Promise<string | null> {
    if (rs.respondent !== "facilitator" || rs.participantId === null) return null;
    const row = await childAsKnownTo(env.db, env.accountId, rs.participantId);
    return row ? (row.nickname ? `${row.nickname} (${row.code})` : row.code) : null;
  }

  return {
    kind: "questionnaire",
    machineId: "questionnaire",
    machineVersion: "questionnaire",
    machineIdOf: (c) => c.q.machineId,
    versionOf: (c) => c.q.machineVersion,
    parse: () => null,
    serialize: (c) => JSON.stringify(c.state),
    // A finished set's row stays until the next set replaces it (or nothing is left).
    finished: () => false,

    async restore(row) {
      if (row.responseSetId === null) return null;
      const rs = await responseSetFacts(env.db, row.responseSetId);
      const instrument = rs ? env.flows.instruments.get(rs.instrumentId) : undefined;
      if (!rs || !instrument) return null;
      const q = compileFor(instrument, rs.respondent);
      // The answer rows are the truth: a snapshot that disagrees with them is rebuilt from them.
      const stored = await storedAnswers(env.db, rs.id);
      const state = q.restore(row.snapshot, row.machineVersion, stored);
      return { rs, instrument, q, state, stored, subject: await subjectOf(rs) };
    },

    async open(rs) {
      const instrument = env.flows.instruments.get(rs.instrumentId);
      if (!instrument) {
        env.onMissingInstrument?.(rs.id, rs.instrumentId);
        return null;
      }
      const q = compileFor(instrument, rs.respondent);
      const existing = await storedAnswers(env.db, rs.id);
      const state = Object.keys(existing).length ? q.positionFromAnswers(existing) : q.start();
      return { rs, instrument, q, state, subject: await subjectOf(rs) };
    },

    step(conv, input) {
      const { q, state } = conv;
      let r: StepResult;
      if (input.type === "resume") r = q.step(state, { type: "RESUME" });
      else if (input.type === "answer")
        r = q.step(state, { type: "ANSWER", itemId: input.itemId, value: input.value });
      else if (input.action === "r") r = q.step(state, { type: "READY" });
      else if (input.action === "p") r = q.step(state, { type: "PAUSE" });
      else if (input.action === "b") r = q.step(state, { type: "BACK" });
      else {
        const view = q.view(state);
        if (view.kind !== "item") return { ok: false, reason: "stale" };
        if (input.action === "s") r = q.step(state, { type: "SKIP", itemId: view.item.id });
        else {
          const option = view.item.options[input.option ?? -1];
          if (!option) return { ok: false, reason: "invalid" };
          r = q.step(state, { type: "ANSWER", itemId: view.item.id, value: option.value });
        }
      }
      if (!r.accepted) return { ok: false, reason: r.reason ?? "stale" };
      return {
        ok: true,
        state: { ...conv, state: r.state },
        effects: [{ result: r, resume: input.type === "resume" }],
      };
    },

    async apply(tx, effects, { before }) {
      for (const e of effects) {
        if (e.resume) continue;
        await recordQuestionnaireStep(tx, {
          accountId: env.accountId,
          rs: before.rs,
          instrumentHash: before.instrument.hash,
          ...(before.stored ? { stored: before.stored } : {}),
          result: e.result,
          now: env.now(),
        });
        if (e.result.completed && env.onComplete) await env.onComplete(tx, before.rs.id);
      }
    },

    view: (conv) => questionnaireScreen(conv, conv.q.view(conv.state), env),
  };
}
