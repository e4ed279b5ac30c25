// A facilitator's part of the demo: the six sessions of one group logged from the chat
// (attendance, an observation per attending child, the reflection, closing), and the families'
// satisfaction replies that closing a session asks for. Each experimental group has its own
// facilitator; the demo runs them side by side.
import type { Db } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import type { Sandbox, ScriptedUser } from "../sandbox/index.js";
import { createInvite } from "../usecases/invites.js";
import type { AnswerModel, Child } from "./model.js";
import { answerAll, identifyQuestion, inParallel } from "./actors.js";
import { t } from "../study/model.js";

const WAIT_MS = 20_000;

export interface FacilitatorRun {
  group: string;
  /** The chat of session 1 (for the transcript excerpt). */
  transcript: string[];
}

interface Family {
  child: Child;
  user: ScriptedUser;
}

export async function runFacilitator(opts: {
  db: Db;
  flows: LoadedFlows;
  sandbox: Sandbox;
  model: AnswerModel;
  families: Family[];
  seed: number;
  group: string;
  /** Telegram identity of the facilitator (as real ones look; never in exports or logs). */
  user: { id: number; firstName: string; username: string };
  onAfterSession?: (n: number) => Promise<void>;
}): Promise<FacilitatorRun> {
  const { db, flows, sandbox, model, families } = opts;
  const { code } = await createInvite(
    db,
    { role: "facilitator", group: opts.group, ttlHours: 48 },
    { kind: "cli" },
  );
  const fac = sandbox.createUser({ ...opts.user, languageCode: "en" });
  fac.sendText(`/start ${code}`);
  await fac.waitForBotMessage(
    (m) => /enrolled in Circle as facilitator/.test(m.text ?? ""),
    WAIT_MS,
  );
  let transcript: string[] = [];
  const withdrawn = new Set<string>();

  for (const session of flows.study.sessions.map((s) => s.number)) {
    for (const f of families) {
      const p = await db.participant.findUnique({ where: { code: f.child.code } });
      if (p?.status === "withdrawn") withdrawn.add(f.child.code);
    }
    const active = families.filter((f) => !withdrawn.has(f.child.code));
    let present = active.filter((f) => !model.chance(0.15, "absent", f.child.code, session));
    if (present.length < 3) present = active.slice(0, 3);

    const before = fac.transcript().length;
    fac.sendText("/session");
    let m = await fac.waitForBotMessage(
      (x) => x.buttons.flat().some((b) => b.startsWith("▶ Session")),
      WAIT_MS,
    );
    fac.press(m, /^▶ Session/);
    m = await fac.waitForBotMessage(
      (x) => x.buttons.flat().some((b) => b.startsWith("Today")),
      WAIT_MS,
    );
    fac.press(m, /^Today/);
    m = await fac.waitForBotMessage(
      (x) => x.buttons.flat().some((b) => b.startsWith("Done")),
      WAIT_MS,
    );
    for (const f of present) {
      const p = fac.press(
        m.messageId,
        (b) => b.text.startsWith("⬜") && b.text.includes(f.child.code),
      );
      await p.waitForAnswer(WAIT_MS);
    }
    fac.press(m.messageId, /^Done/);

    let child: Child | undefined;
    for (let guard = 0; guard < 400; guard++) {
      const prompt = await fac.waitForBotMessage(
        (x) => x.buttons.length > 0 || /^👁/.test(x.text ?? ""),
        WAIT_MS,
      );
      const labels = prompt.buttons.flat();
      if (labels.includes("🔒 Close session")) {
        fac.press(prompt, "🔒 Close session");
        await fac.waitForBotMessage(
          (x) => /Session closed|questionnaire went|No new questionnaires/.test(x.text ?? ""),
          WAIT_MS,
        );
        break;
      }
      const header = /Observation \d+ of \d+: (\S+)/.exec(prompt.text ?? "");
      if (header) {
        child = families.find((f) => header[1]!.includes(f.child.code))?.child;
        continue;
      }
      const q = identifyQuestion(flows, prompt);
      if (!q) throw new Error(`facilitator: unexpected prompt ${prompt.text}`);
      const item = q.instrument.items[q.index]!;
      if (item.type !== "choice") {
        if (labels.includes("Skip")) fac.press(prompt, "Skip");
        else fac.sendText("The children worked well together today.");
        continue;
      }
      const isObservation = q.instrument.id === flows.study.assignments.observation;
      const value =
        isObservation && child
          ? model.observation(child, session, item.subscale ?? item.id)
          : Math.min(
              item.max ?? 5,
              3 + Number(model.chance(0.7, "refl", opts.group, session, item.id)),
            );
      const label =
        item.options.find((o) => o.value === value) ?? item.options[item.options.length - 1]!;
      fac.press(prompt, t(label.label, "en"));
    }
    if (session === 1) transcript = fac.transcript().slice(before);

    // Families of the children present answer the session questionnaire (and, after the last
    // session, the end-of-group survey and the post-tests that open with it).
    await inParallel(present, 8, async (f) => {
      await answerAll(f.user, flows, f.child, model, "post", { session });
    });
    // Field notes on a child after every other session, and a short interview after the last
    // one, tagged with the study's qualitative codes (the report's code summary counts them).
    if (session % 2 === 0 && present.length > 0) {
      const f = present[(session * 7 + opts.seed) % present.length]!;
      await writeNote(fac, flows, model, "note", f.child.code, session, NOTE_TEXTS);
    }
    if (session === flows.study.sessions.length && present.length > 1) {
      const f = present[(opts.seed + 1) % present.length]!;
      await writeNote(fac, flows, model, "interview", f.child.code, session, INTERVIEW_TEXTS);
    }
    await opts.onAfterSession?.(session);
  }
  return { group: opts.group, transcript };
}

const NOTE_TEXTS = [
  "Joined the drawing game without being asked and helped a younger child with the crayons.",
  "Stayed close to the leader at first, then laughed with the others during the puppet play.",
  "Talked about missing school during treatment; another child said the same.",
];
const INTERVIEW_TEXTS = [
  "Says the group was the best part of the week and wants to keep in touch with two friends.",
  "Found it hard to speak at first; now asks others to play and explains the rules of games.",
];

/** `/note` or `/interview` on a child, ticking one or two of the study's codes, then saving. */
async function writeNote(
  fac: ScriptedUser,
  flows: LoadedFlows,
  model: AnswerModel,
  kind: "note" | "interview",
  code: string,
  session: number,
  texts: readonly string[],
): Promise<void> {
  const text = texts[session % texts.length]!;
  fac.sendText(`/${kind} ${code} ${text}`);
  const m = await fac.waitForBotMessage(
    (x) => x.buttons.flat().some((b) => b.startsWith("💾")),
    WAIT_MS,
  );
  const codes = flows.study.codes.filter((c, i) =>
    model.chance(i % 3 === session % 3 ? 0.8 : 0.15, kind, code, session, c.id),
  );
  for (const c of codes.length > 0 ? codes : flows.study.codes.slice(0, 1)) {
    const label = t(c.label, "en");
    await fac.press(m.messageId, (b) => b.text === `⬜ ${label}`).waitForAnswer(WAIT_MS);
  }
  fac.press(m.messageId, (b) => b.text.startsWith("💾"));
  await fac.waitForBotMessage((x) => /Saved the /.test(x.text ?? ""), WAIT_MS);
}
