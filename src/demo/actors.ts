// Scripted people for the demo: they read what the bot sent (through the sandbox, like a phone
// would show it) and press buttons or type, as a parent, a facilitator or a researcher would.
import type { ChatEntry, ScriptedUser } from "../sandbox/index.js";
import type { Instrument, LoadedFlows } from "../study/model.js";
import { t } from "../study/model.js";
import type { AnswerModel, Child } from "./model.js";

const WAIT_MS = 20_000;
const DONE = /That's everything for now|nothing to answer right now/;

/** Which instrument and item a question message asks, from its title line and "n/total". */
export function identifyQuestion(
  flows: LoadedFlows,
  entry: ChatEntry,
  locale = "en",
): { instrument: Instrument; index: number } | null {
  const text = entry.text ?? "";
  const m = /^(.*) · (\d+)\/(\d+)\n/.exec(text);
  if (!m) return null;
  const instrument = flows.instrumentList.find((i) => t(i.title, locale) === m[1]);
  if (!instrument) return null;
  return { instrument, index: Number(m[2]) - 1 };
}

export interface ParentRun {
  answered: number;
  paused: boolean;
}

/** Waits for the bot's next prompt: a message with buttons, or the "all done" note. */
async function nextPrompt(user: ScriptedUser, extra?: RegExp): Promise<ChatEntry> {
  return user.waitForBotMessage(
    (m) =>
      m.buttons.length > 0 || DONE.test(m.text ?? "") || (extra ? extra.test(m.text ?? "") : false),
    WAIT_MS,
  );
}

function labelFor(instrument: Instrument, index: number, value: number, locale = "en"): string {
  const item = instrument.items[index]!;
  const o = item.options.find((x) => x.value === value);
  if (!o) throw new Error(`no option ${value} for ${instrument.id}/${item.id}`);
  return t(o.label, locale);
}

/**
 * Answers whatever the bot asks until it says everything is done. `pauseAt` pauses once after that
 * many answers and resumes with /resume (as a tired parent would, later).
 */
export async function answerAll(
  user: ScriptedUser,
  flows: LoadedFlows,
  child: Child,
  model: AnswerModel,
  timepoint: string,
  opts: { pauseAt?: number; first?: ChatEntry; session?: number } = {},
): Promise<ParentRun> {
  const afterSession = new Set(flows.study.assignments.afterSession.parent);
  let answered = 0;
  let paused = false;
  let prompt = opts.first ?? (await nextPrompt(user));
  for (let guard = 0; guard < 500; guard++) {
    if (DONE.test(prompt.text ?? "") && prompt.buttons.length === 0) return { answered, paused };
    const flat = prompt.buttons.flat();
    if (flat.includes("I'm ready")) {
      user.press(prompt, "I'm ready");
      prompt = await nextPrompt(user);
      continue;
    }
    const q = identifyQuestion(flows, prompt);
    if (!q) throw new Error(`unexpected prompt: ${prompt.text}`);
    if (opts.pauseAt !== undefined && !paused && answered === opts.pauseAt) {
      paused = true;
      user.press(prompt, "⏸ Pause");
      await user.waitForBotMessage((m) => /Paused/.test(m.text ?? ""), WAIT_MS);
      user.sendText("/resume");
      prompt = await nextPrompt(user);
      continue;
    }
    const item = q.instrument.items[q.index]!;
    const value =
      afterSession.has(q.instrument.id) && item.type === "choice"
        ? model.satisfaction(child, opts.session ?? 0, item)
        : model.answer(child, q.instrument, item, timepoint);
    if (value === null) {
      if (flat.includes("Skip")) user.press(prompt, "Skip");
      else if (item.type === "text") user.sendText("Fine, thank you.");
      else throw new Error(`no answer for required ${item.id}`);
    } else {
      user.press(prompt, labelFor(q.instrument, q.index, value));
    }
    answered++;
    prompt = await nextPrompt(user);
  }
  throw new Error("too many prompts");
}

/** /start with the invite, consent and the child's assent. Returns the first questionnaire prompt. */
export async function enrolParent(
  user: ScriptedUser,
  code: string,
  agree = true,
): Promise<ChatEntry | null> {
  user.sendText(`/start ${code}`);
  const consent = await user.waitForBotMessage(
    (m) => m.buttons.flat().includes("I agree"),
    WAIT_MS,
  );
  if (!agree) {
    user.press(consent, "I do not agree");
    await user.waitForBotMessage((m) => /will not take part/.test(m.text ?? ""), WAIT_MS);
    return null;
  }
  user.press(consent, "I agree");
  const assent = await user.waitForBotMessage(
    (m) => m.buttons.flat().includes("My child agrees"),
    WAIT_MS,
  );
  user.press(assent, "My child agrees");
  return nextPrompt(user);
}

export async function withdraw(user: ScriptedUser): Promise<void> {
  user.sendText("/withdraw");
  const confirm = await user.waitForBotMessage(
    (m) => m.buttons.flat().includes("Yes, withdraw"),
    WAIT_MS,
  );
  user.press(confirm, "Yes, withdraw");
  await user.waitForBotMessage((m) => /You have withdrawn/.test(m.text ?? ""), WAIT_MS);
}

/** Runs async jobs with at most `limit` at a time (parents answering in parallel). */
export async function inParallel<T>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
}
