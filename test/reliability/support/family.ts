// A scripted parent for the reliability runs: enrols with an invite, consents, assents, and
// answers the first timepoint's questionnaires through the sandbox, like a person would when the
// bot may vanish at any moment. For every step it knows whether the bot acknowledged it — the
// question was edited to "✓ answer", or the next step was shown — and only then moves on.
// Unacknowledged steps are retried: the same button pressed again, or /resume when the button
// is gone or refused. Anything a correct bot could not have shown (a step skipped, a question
// acknowledged with the wrong answer) is recorded as an anomaly.
import type { Instrument, Item, LoadedFlows } from "../../../src/study/model.js";
import { t } from "../../../src/study/model.js";
import { timepointAssignments } from "../../../src/usecases/assignments.js";
import type { Sandbox, SandboxEvent, ScriptedUser } from "../../../src/sandbox/index.js";
import type { StoredMessage } from "../../../src/sandbox/state.js";
import { botText } from "./run.js";

export type Step =
  | { kind: "start" }
  | { kind: "consent" }
  | { kind: "assent" }
  | { kind: "handoff"; instrument: Instrument }
  | { kind: "item"; instrument: Instrument; item: Item; number: number }
  | { kind: "done" };

/** Every step of a family's first timepoint, in the order the bot must ask them. */
export function familyJourney(flows: LoadedFlows, arm: string | null): Step[] {
  const first = flows.study.timepoints[0]!.id;
  const steps: Step[] = [{ kind: "start" }, { kind: "consent" }, { kind: "assent" }];
  const assigned = timepointAssignments(flows, first, arm);
  // Parent before child (nextFamilyResponseSet), each in the study file's order.
  for (const respondent of ["parent", "child"] as const) {
    for (const a of assigned.filter((x) => x.respondent === respondent)) {
      if (respondent === "child") steps.push({ kind: "handoff", instrument: a.instrument });
      a.instrument.items.forEach((item, i) =>
        steps.push({ kind: "item", instrument: a.instrument, item, number: i + 1 }),
      );
    }
  }
  steps.push({ kind: "done" });
  return steps;
}

/** Wakes waiting families when something happens in their chat (one listener for all of them). */
export class ChatHub {
  private readonly waiters = new Map<number, Set<() => void>>();

  constructor(sandbox: Sandbox) {
    sandbox.state.events.setMaxListeners(0);
    sandbox.state.events.on("change", (event: SandboxEvent) => {
      if ("chatId" in event) this.wake(event.chatId);
    });
  }

  /** Resolves on the next change in the chat, or after ms. */
  wait(chatId: number, ms: number): Promise<void> {
    return new Promise((done) => {
      const set = this.waiters.get(chatId) ?? new Set();
      this.waiters.set(chatId, set);
      const fire = () => {
        clearTimeout(timer);
        set.delete(fire);
        done();
      };
      const timer = setTimeout(fire, ms);
      set.add(fire);
    });
  }

  wake(chatId: number): void {
    for (const fire of [...(this.waiters.get(chatId) ?? [])]) fire();
  }

  wakeAll(): void {
    for (const chatId of this.waiters.keys()) this.wake(chatId);
  }
}

/** Whether the bot process is up; every kill starts a new epoch, which ends every wait. */
export class Gate {
  epoch = 0;
  private up = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly hub: ChatHub) {}

  get isUp(): boolean {
    return this.up;
  }

  down(): void {
    this.up = false;
    this.epoch++;
    this.hub.wakeAll();
  }

  open(): void {
    this.up = true;
    for (const done of this.waiting.splice(0)) done();
  }

  async waitUp(): Promise<void> {
    if (this.up) return;
    await new Promise<void>((done) => this.waiting.push(done));
  }
}

export interface FamilyStats {
  presses: number;
  /** The same button pressed again after a kill left it unacknowledged. */
  repressed: number;
  resumes: number;
  /** Presses refused with a toast (the button had gone stale). */
  staleToasts: number;
  /** Waits ended by a kill. */
  interrupted: number;
  /** Waits that ran out with the bot up and no kill: a lost update or a stuck bot. */
  stalls: number;
  /** "Something went wrong" messages from the bot's error boundary. */
  errorMessages: number;
}

type Action =
  | { kind: "start" | "resume"; seq: number; epoch: number }
  | {
      kind: "press";
      seq: number;
      epoch: number;
      messageId: number;
      queryId: string;
      label: string;
    };

type Outcome =
  | { kind: "acked" }
  | { kind: "represented" }
  | { kind: "stale" }
  | { kind: "killed" }
  | { kind: "timeout" }
  | { kind: "text"; text: "used" | "no-account" | "other" };

type BotSays = "all-done" | "nothing" | "error" | "used" | "no-account" | "other";
type Classified = { index: number } | { text: BotSays };

/**
 * Reads a bot message (as the user sees it) as a step of the journey — a question, consent,
 * assent or handoff — or as one of the texts that matter here. A question that is not in the
 * journey, or shows the wrong item text or total, is a problem.
 */
export class StepReader {
  private readonly keyIndex = new Map<string, number>();
  private readonly titles = new Map<string, Instrument>();

  constructor(readonly journey: Step[]) {
    journey.forEach((step, i) => {
      this.keyIndex.set(stepKey(step), i);
      if (step.kind === "item" || step.kind === "handoff")
        this.titles.set(t(step.instrument.title, "en"), step.instrument);
    });
  }

  read(text: string): Classified | { problem: string } {
    const firstLine = text.split("\n")[0] ?? "";
    const item = /^(.*) · (\d+)\/(\d+)$/.exec(firstLine);
    if (item) {
      const instrument = this.titles.get(item[1]!);
      const number = Number(item[2]);
      const it = instrument?.items[number - 1];
      if (!instrument || !it) return { problem: `unknown question "${firstLine}"` };
      if (text.split("\n\n")[1] !== t(it.text, "en"))
        return { problem: `question ${firstLine} shows the text of another item` };
      if (Number(item[3]) !== instrument.items.length)
        return { problem: `question ${firstLine} has the wrong total` };
      return this.indexOf(`item:${instrument.id}:${it.id}`);
    }
    if (text.startsWith(botText("consent-title", { version: "" }).split("(")[0]!))
      return this.indexOf("consent");
    if (text.startsWith(botText("assent-title", { version: "" }).split("(")[0]!))
      return this.indexOf("assent");
    const handoff = [...this.titles.values()].find(
      (ins) => text === botText("q-handoff", { title: t(ins.title, "en") }),
    );
    if (handoff) return this.indexOf(`handoff:${handoff.id}`);
    const says: [string, BotSays][] = [
      ["q-all-done", "all-done"],
      ["q-nothing-pending", "nothing"],
      ["error-generic", "error"],
      ["invite-used", "used"],
      ["not-allowed", "no-account"],
    ];
    for (const [key, what] of says) if (text === botText(key)) return { text: what };
    return { text: "other" };
  }

  private indexOf(key: string): { index: number } | { problem: string } {
    const i = this.keyIndex.get(key);
    return i === undefined
      ? { problem: `the bot showed ${key}, which is not in this family's journey` }
      : { index: i };
  }

  /** The button to press for a step: consent, assent, "ready", or the chosen option. */
  static label(step: Step, choose: (item: Item) => number): string {
    switch (step.kind) {
      case "consent":
        return botText("consent-agree");
      case "assent":
        return botText("assent-agree");
      case "handoff":
        return botText("q-handoff-ready");
      case "item":
        return t(step.item.options[choose(step.item)]!.label, "en");
      default:
        throw new Error(`nothing to press at ${describe(step)}`);
    }
  }
}

export interface FamilyOptions {
  sandbox: Sandbox;
  hub: ChatHub;
  gate: Gate;
  user: ScriptedUser;
  /** The participant code (for reports) and the invite code. */
  participant: string;
  invite: string;
  journey: Step[];
  /** Stop once this step index is reached (journey.length - 1 = everything answered). */
  target: number;
  /** Picks the option index for an item (seeded per family). */
  choose: (item: Item) => number;
  /** How long to wait for the bot before counting a stall. */
  patienceMs: number;
  /** Called on every acknowledged step (the kill schedule counts them). */
  onAck?: () => void;
}

export class Family {
  /** Index of the step the family is on: every earlier step was acknowledged. */
  pos = 0;
  /** Acknowledged answers: instrument id → item id → value. */
  readonly acked = new Map<string, Map<string, number>>();
  readonly anomalies: string[] = [];
  /** What the chat looked like when a wait ran out (for the test's failure message). */
  readonly stallNotes: string[] = [];
  readonly stats: FamilyStats = {
    presses: 0,
    repressed: 0,
    resumes: 0,
    staleToasts: 0,
    interrupted: 0,
    stalls: 0,
    errorMessages: 0,
  };
  readonly reader: StepReader;
  /** Messages whose press was refused as stale: never pressed again. */
  private readonly dead = new Set<number>();
  /** Sandbox sequence number when the family reached `pos`: what the bot shows after it counts. */
  private posSeq = 0;
  /** Messages pressed for the current step, with the label pressed. */
  private readonly pressedAtPos = new Map<number, string>();
  private lastPressed: number | undefined;
  private readonly errorsSeen = new Set<number>();

  constructor(readonly o: FamilyOptions) {
    this.reader = new StepReader(o.journey);
  }

  get user(): ScriptedUser {
    return this.o.user;
  }

  get done(): boolean {
    return this.pos >= this.o.target;
  }

  get step(): Step {
    return this.o.journey[this.pos]!;
  }

  /** Plays the journey up to the target. Throws on an anomaly or when it cannot make progress. */
  async run(): Promise<void> {
    const limit = 30 + this.o.target * 12;
    let actions = 0;
    let needResume = false;
    // Right after an acknowledgement the next question is on its way: wait for it rather than ask.
    let expectPrompt = false;
    while (!this.done) {
      if (++actions > limit)
        throw new Error(
          `${this.o.participant}: no progress after ${limit} actions at step ${this.pos} (${describe(this.step)})`,
        );
      await this.o.gate.waitUp();
      const epoch = this.o.gate.epoch;
      // An earlier action may have been acknowledged meanwhile (a redelivered press after a restart).
      if (this.stepAcked()) {
        this.advance();
        expectPrompt = true;
        continue;
      }
      let action: Action;
      if (this.pos === 0) {
        action = needResume
          ? this.send("/resume", "resume", epoch)
          : this.send(`/start ${this.o.invite}`, "start", epoch);
      } else {
        let prompt = needResume ? undefined : this.promptFor(this.pos);
        if (!prompt && !needResume && expectPrompt) {
          const waited = await this.waitForPrompt(epoch);
          if (waited === "acked") continue;
          prompt = waited;
        }
        action = prompt ? this.press(prompt, epoch) : this.send("/resume", "resume", epoch);
      }
      const outcome = await this.outcome(action);
      needResume = false;
      expectPrompt = false;
      switch (outcome.kind) {
        case "acked":
          this.advance();
          expectPrompt = true;
          break;
        case "stale":
          if (action.kind === "press") this.dead.add(action.messageId);
          this.stats.staleToasts++;
          needResume = true;
          break;
        case "text":
          // Enrolment: "invite used" means the first /start was stored (ask where we are); no
          // account means it was not (send the invite again).
          needResume = outcome.text !== "no-account";
          break;
        case "killed":
          this.stats.interrupted++;
          break;
        case "timeout":
          this.stats.stalls++;
          this.noteStall(`after ${action.kind}`);
          needResume = true;
          break;
        case "represented":
          break;
      }
      if (this.anomalies.length)
        throw new Error(`${this.o.participant}: ${this.anomalies.join("; ")}`);
    }
  }

  /** Sends /resume and returns what the bot showed: a step index, or "nothing" when all is done. */
  async resumeAt(): Promise<number | "nothing"> {
    const deadline = Date.now() + this.o.patienceMs;
    const action = this.send("/resume", "resume", this.o.gate.epoch);
    for (;;) {
      for (const m of this.botMessagesAfter(action.seq)) {
        const c = this.classify(m);
        if ("index" in c) return c.index;
        if (c.text === "nothing" || c.text === "all-done") return "nothing";
      }
      if (Date.now() > deadline) throw new Error(`${this.o.participant}: no answer to /resume`);
      await this.o.hub.wait(this.user.chatId, 1000);
    }
  }

  // --- acting ---------------------------------------------------------------------------------

  private send(text: string, kind: "start" | "resume", epoch: number): Action {
    const seq = this.o.sandbox.state.nextSeq();
    this.user.sendText(text);
    if (kind === "resume") this.stats.resumes++;
    return { kind, seq, epoch };
  }

  private press(message: StoredMessage, epoch: number): Action {
    const label = StepReader.label(this.step, this.o.choose);
    const id = message.message.message_id;
    const seq = this.o.sandbox.state.nextSeq();
    const pressed = this.user.press(id, label);
    this.stats.presses++;
    if (this.lastPressed === id) this.stats.repressed++;
    this.lastPressed = id;
    this.pressedAtPos.set(id, label);
    return { kind: "press", seq, epoch, messageId: id, queryId: pressed.queryId, label };
  }

  private advance(): void {
    const step = this.step;
    if (step.kind === "item") {
      const value = step.item.options[this.o.choose(step.item)]!.value;
      const answers = this.acked.get(step.instrument.id) ?? new Map<string, number>();
      answers.set(step.item.id, value);
      this.acked.set(step.instrument.id, answers);
    }
    this.pos++;
    this.posSeq = this.o.sandbox.state.nextSeq();
    this.pressedAtPos.clear();
    this.o.onAck?.();
  }

  // --- reading the chat -----------------------------------------------------------------------

  private botMessages(): StoredMessage[] {
    const record = this.o.sandbox.state.chats.get(this.user.chatId);
    return [...(record?.messages.values() ?? [])]
      .filter((m) => m.fromBot && !m.deleted)
      .sort((a, b) => a.seq - b.seq);
  }

  private botMessagesAfter(seq: number): StoredMessage[] {
    return this.botMessages().filter((m) => m.seq > seq);
  }

  /** The question to press for step `pos`: the latest message with buttons, if it shows that step. */
  private promptFor(pos: number): StoredMessage | undefined {
    const withButtons = this.botMessages().filter(
      (m) =>
        (m.message.reply_markup?.inline_keyboard.flat().length ?? 0) > 0 &&
        !this.dead.has(m.message.message_id),
    );
    const last = withButtons.at(-1);
    if (!last) return undefined;
    const c = this.classify(last);
    return "index" in c && c.index === pos ? last : undefined;
  }

  private async waitForPrompt(epoch: number): Promise<StoredMessage | "acked" | undefined> {
    const deadline = Date.now() + this.o.patienceMs;
    for (;;) {
      const prompt = this.promptFor(this.pos);
      if (prompt) return prompt;
      if (this.stepAcked()) {
        this.advance();
        return "acked";
      }
      if (this.o.gate.epoch !== epoch) {
        this.stats.interrupted++;
        return undefined;
      }
      if (Date.now() > deadline) {
        this.stats.stalls++;
        this.noteStall("waiting for the next question");
        return undefined;
      }
      await this.o.hub.wait(this.user.chatId, 1000);
    }
  }

  private classify(m: StoredMessage): Classified {
    const c = this.reader.read(m.message.text ?? "");
    if ("problem" in c) return { index: this.anomaly(c.problem) };
    if ("text" in c && c.text === "error" && !this.errorsSeen.has(m.seq)) {
      this.errorsSeen.add(m.seq);
      this.stats.errorMessages++;
    }
    return c;
  }

  private noteStall(what: string): void {
    this.stallNotes.push(
      `${this.o.participant} stalled ${what} at step ${this.pos} (${describe(this.step)}), epoch ${this.o.gate.epoch}:\n    ${this.user.transcript().slice(-6).join("\n    ")}`,
    );
  }

  private anomaly(what: string): number {
    this.anomalies.push(`at step ${this.pos} (${describe(this.step)}): ${what}`);
    return -1;
  }

  // --- acknowledgement ------------------------------------------------------------------------

  /**
   * Whether the bot has acknowledged the current step, by whatever press of it: a pressed
   * question now shows our answer, or the bot has shown the next step since we reached this one.
   * (The bot can only show the next step once this one is stored.)
   */
  private stepAcked(): boolean {
    const pos = this.pos;
    const ack = this.ackText();
    for (const [id, label] of this.pressedAtPos) {
      const pressed = this.o.sandbox.state.chats.get(this.user.chatId)?.messages.get(id);
      const text = pressed?.message.text ?? "";
      if (!/\n✓ /.test(text)) continue;
      // It must still be the question we answered, now showing our answer.
      const shows = pressed ? this.classify(pressed) : undefined;
      if (shows && "index" in shows && shows.index !== pos) {
        this.anomaly(
          `the question pressed for step ${pos} was rewritten to show step ${shows.index} (${describe(this.o.journey[shows.index]!)})`,
        );
        return false;
      }
      if (
        ack !== undefined &&
        this.step.kind === "item" &&
        !text.includes(`\n${botText("q-answered", { answer: label })}`)
      ) {
        this.anomaly(
          `the question was acknowledged as "${text.split("\n").at(-1)}" after pressing "${label}"`,
        );
        return false;
      }
      if (ack !== undefined && text.includes(ack)) return true;
    }
    const next = this.o.journey[pos + 1];
    for (const m of this.botMessagesAfter(this.posSeq)) {
      const c = this.classify(m);
      const moved =
        "index" in c
          ? c.index === pos + 1
          : (c.text === "all-done" || c.text === "nothing") && next?.kind === "done";
      if (!moved) continue;
      // The bot moved on: our step was stored. Only possible when we pressed for it.
      if (pos > 0 && this.pressedAtPos.size === 0)
        this.anomaly(`the bot skipped ahead to step ${pos + 1} without a press`);
      return true;
    }
    return false;
  }

  private async outcome(action: Action): Promise<Outcome> {
    const deadline = Date.now() + this.o.patienceMs;
    for (;;) {
      const o = this.evaluate(action);
      if (o) return o;
      if (this.o.gate.epoch !== action.epoch) return { kind: "killed" };
      if (Date.now() > deadline) return { kind: "timeout" };
      await this.o.hub.wait(this.user.chatId, 1000);
    }
  }

  private evaluate(action: Action): Outcome | undefined {
    if (this.stepAcked()) return { kind: "acked" };
    if (this.anomalies.length) return { kind: "represented" };
    const pos = this.pos;
    let represented = false;
    let text: Outcome | undefined;
    for (const m of this.botMessagesAfter(action.seq)) {
      const c = this.classify(m);
      if ("index" in c) {
        if (c.index === pos) represented = true;
        else if (c.index >= 0)
          this.anomaly(`the bot showed step ${c.index} (${describe(this.o.journey[c.index]!)})`);
      } else if ((c.text === "used" || c.text === "no-account") && action.kind !== "press") {
        text = { kind: "text", text: c.text };
      } else if (c.text === "error") {
        // The error boundary answered: the update was not stored; try again from where we are.
        text = { kind: "text", text: "other" };
      } else if (c.text === "nothing" && action.kind === "resume" && pos > 0) {
        this.anomaly("the bot says nothing is pending");
      }
    }
    if (this.anomalies.length || represented) return { kind: "represented" };
    if (
      action.kind === "press" &&
      this.o.sandbox.state.callbackQueries.get(action.queryId)?.answer?.text
    )
      return { kind: "stale" };
    return text;
  }

  /** What a pressed consent, assent or question says once the step is stored. */
  private ackText(): string | undefined {
    switch (this.step.kind) {
      case "consent":
        return botText("consent-recorded-agree", { version: "" }).split("(")[0];
      case "assent":
        return botText("assent-recorded-agree", { version: "" }).split("(")[0];
      case "item":
        return "\n✓ ";
      default:
        // The handoff message only loses its button; the first child question is the sign.
        return undefined;
    }
  }
}

export function stepKey(step: Step): string {
  switch (step.kind) {
    case "item":
      return `item:${step.instrument.id}:${step.item.id}`;
    case "handoff":
      return `handoff:${step.instrument.id}`;
    default:
      return step.kind;
  }
}

export function describe(step: Step): string {
  if (step.kind === "item")
    return `${step.instrument.id} ${step.number}/${step.instrument.items.length}`;
  if (step.kind === "handoff") return `handoff to ${step.instrument.id}`;
  return step.kind;
}
