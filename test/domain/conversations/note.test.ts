// Table tests of `/note` and `/interview` as pure rules: (state + press or typed text) → next
// state, effects, and the keyboard the next message offers. Stale presses (wrong nonce, an old
// message, an operation the step has no button for, a bad argument) and free text where a button
// is expected leave the state unchanged. No database, no Telegram.
import { describe, expect, it } from "vitest";
import {
  NOTE_MAX_LENGTH,
  noteButtons,
  parseNoteState,
  pressNote,
  startNoteState,
  typeNote,
  type NoteContext,
  type NoteState,
  type NoteStep,
} from "../../../src/domain/conversations/note.js";

const CODES = ["peer", "fear", "joy"];
const CHILDREN = [11, 12, 13];

function st(value: NoteStep, ctx: Partial<NoteContext> = {}): NoteState {
  return { value, context: { kind: "note", participantId: null, text: "", codes: [], ...ctx } };
}

/** The conversation as stored: its state, nonce 4, buttons live on message 100. */
const live = (state: NoteState) => ({ state, nonce: 4, messageId: 100 });
const press = (
  op: string,
  arg?: string | number,
  extra: { nonce?: number; messageId?: number } = {},
) => ({
  op,
  arg: arg === undefined ? undefined : String(arg),
  nonce: extra.nonce ?? 4,
  messageId: "messageId" in extra ? extra.messageId : 100,
});

describe("note: starting", () => {
  it.each([
    ["no child named: the picker", null, "pickChild"],
    ["a child named: straight to typing", 12, "typing"],
  ] as const)("%s", (_name, participantId, value) => {
    expect(startNoteState("interview", participantId)).toEqual({
      value,
      context: { kind: "interview", participantId, text: "", codes: [] },
    });
  });
});

describe("note: accepted presses", () => {
  const rows: Array<{
    name: string;
    from: NoteState;
    press: ReturnType<typeof press>;
    to: NoteState;
    effects: unknown[];
  }> = [
    {
      name: "pick a child",
      from: st("pickChild"),
      press: press("p", 12),
      to: st("typing", { participantId: 12 }),
      effects: [{ type: "present" }],
    },
    {
      name: "cancel at the picker",
      from: st("pickChild"),
      press: press("x"),
      to: st("cancelled"),
      effects: [{ type: "cancelled" }],
    },
    {
      name: "back from typing to the picker",
      from: st("typing", { participantId: 12 }),
      press: press("b"),
      to: st("pickChild"),
      effects: [{ type: "present" }],
    },
    {
      name: "tick a code: redrawn in place",
      from: st("coding", { participantId: 12, text: "hello", codes: ["joy"] }),
      press: press("c", 1),
      to: st("coding", { participantId: 12, text: "hello", codes: ["joy", "fear"] }),
      effects: [{ type: "redraw" }],
    },
    {
      name: "untick a code",
      from: st("coding", { participantId: 12, text: "hello", codes: ["joy", "fear"] }),
      press: press("c", 2),
      to: st("coding", { participantId: 12, text: "hello", codes: ["fear"] }),
      effects: [{ type: "redraw" }],
    },
    {
      name: "save: the codes in the study's order",
      from: st("coding", {
        kind: "interview",
        participantId: 12,
        text: "hello",
        codes: ["joy", "peer"],
      }),
      press: press("s"),
      to: st("saved", {
        kind: "interview",
        participantId: 12,
        text: "hello",
        codes: ["joy", "peer"],
      }),
      effects: [
        {
          type: "save",
          note: { participantId: 12, kind: "interview", text: "hello", codes: ["peer", "joy"] },
        },
      ],
    },
    {
      name: "a press recorded before its message id (crash window) still counts",
      from: st("pickChild"),
      press: press("p", 13, { messageId: 555 }),
      to: st("typing", { participantId: 13 }),
      effects: [{ type: "present" }],
    },
  ];
  it.each(rows)("$name", (row) => {
    const before = structuredClone(row.from);
    const conv = row.name.includes("crash window")
      ? { state: row.from, nonce: 4, messageId: null }
      : live(row.from);
    const r = pressNote(conv, row.press, CODES);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.state).toEqual(row.to);
    expect(r.effects).toEqual(row.effects);
    expect(row.from).toEqual(before);
  });
});

describe("note: stale or invalid presses change nothing", () => {
  const coding = st("coding", { participantId: 12, text: "hello", codes: ["joy"] });
  const rows: Array<{
    name: string;
    from: NoteState;
    press: ReturnType<typeof press>;
    reason: string;
  }> = [
    { name: "wrong nonce", from: coding, press: press("c", 0, { nonce: 3 }), reason: "stale" },
    {
      name: "another message's button",
      from: coding,
      press: press("c", 0, { messageId: 99 }),
      reason: "stale",
    },
    {
      name: "no message at all",
      from: coding,
      press: press("c", 0, { messageId: undefined }),
      reason: "stale",
    },
    { name: "a code index out of range", from: coding, press: press("c", 3), reason: "stale" },
    {
      name: "a code index that is not a number",
      from: coding,
      press: press("c", "x1"),
      reason: "stale",
    },
    { name: "an unknown operation", from: coding, press: press("z"), reason: "stale" },
    {
      name: "back while coding (no such button)",
      from: coding,
      press: press("b"),
      reason: "stale",
    },
    { name: "a child press while coding", from: coding, press: press("p", 12), reason: "stale" },
    {
      name: "a child press without a number",
      from: st("pickChild"),
      press: press("p", "abc"),
      reason: "not-your-group",
    },
    {
      name: "save while typing",
      from: st("typing", { participantId: 12 }),
      press: press("s"),
      reason: "stale",
    },
    {
      name: "a code press at the picker",
      from: st("pickChild"),
      press: press("c", 0),
      reason: "stale",
    },
    {
      name: "save with no text (a corrupt stored state)",
      from: st("coding", { participantId: 12, text: "" }),
      press: press("s"),
      reason: "stale",
    },
  ];
  it.each(rows)("$name → $reason", (row) => {
    const before = structuredClone(row.from);
    const r = pressNote(live(row.from), row.press, CODES);
    expect(r).toEqual({ ok: false, reason: row.reason, state: before });
  });
});

describe("note: typed text", () => {
  const long = "x".repeat(NOTE_MAX_LENGTH - 5);
  const rows: Array<{ name: string; from: NoteState; text: string | null; result: unknown }> = [
    {
      name: "the note's text",
      from: st("typing", { participantId: 12 }),
      text: "first part",
      result: { ok: true, state: st("coding", { participantId: 12, text: "first part" }) },
    },
    {
      name: "more text while coding is appended",
      from: st("coding", { participantId: 12, text: "first part", codes: ["joy"] }),
      text: "second",
      result: {
        ok: true,
        state: st("coding", { participantId: 12, text: "first part\nsecond", codes: ["joy"] }),
      },
    },
    {
      name: "text past the limit is refused",
      from: st("coding", { participantId: 12, text: long }),
      text: "123456",
      result: { ok: false, reason: "too-long" },
    },
    {
      name: "a sticker or photo (no text)",
      from: st("typing", { participantId: 12 }),
      text: null,
      result: { ok: false, reason: "empty" },
    },
    {
      name: "free text at the picker is not the note's (a button is expected)",
      from: st("pickChild"),
      text: "LK-1 was happy",
      result: { ok: false, reason: "not-waiting" },
    },
  ];
  it.each(rows)("$name", (row) => {
    const before = structuredClone(row.from);
    const r = typeNote(row.from, row.text);
    expect(r).toMatchObject(row.result as object);
    if (!r.ok) expect(r.state).toEqual(before);
    else expect(r.effects).toEqual([{ type: "present" }]);
  });
  it("text that exactly fills the limit is taken", () => {
    const r = typeNote(st("coding", { participantId: 1, text: long }), "1234");
    expect(r.ok && r.state.context.text.length).toBe(NOTE_MAX_LENGTH);
  });
});

describe("note: the keyboard of each step", () => {
  const offer = { children: CHILDREN, codes: CODES };
  it.each([
    {
      step: "pickChild",
      state: st("pickChild"),
      rows: [
        [
          { op: "p", participantId: 11 },
          { op: "p", participantId: 12 },
        ],
        [{ op: "p", participantId: 13 }],
        [{ op: "x" }],
      ],
    },
    {
      step: "typing",
      state: st("typing", { participantId: 12 }),
      rows: [[{ op: "b" }, { op: "x" }]],
    },
    {
      step: "coding",
      state: st("coding", { participantId: 12, text: "t", codes: ["joy"] }),
      rows: [
        [
          { op: "c", index: 0, code: "peer", on: false },
          { op: "c", index: 1, code: "fear", on: false },
        ],
        [{ op: "c", index: 2, code: "joy", on: true }],
        [{ op: "s", count: 1 }, { op: "x" }],
      ],
    },
    { step: "saved", state: st("saved"), rows: [] },
  ])("$step", ({ state, rows }) => {
    expect(noteButtons(state, offer)).toEqual(rows);
  });

  it("nobody to write about: only Cancel", () => {
    expect(noteButtons(st("pickChild"), { children: [], codes: CODES })).toEqual([[{ op: "x" }]]);
  });

  it("every offered button is accepted in its step", () => {
    for (const state of [
      st("pickChild"),
      st("typing", { participantId: 12 }),
      st("coding", { participantId: 12, text: "t" }),
    ]) {
      for (const b of noteButtons(state, offer).flat()) {
        const arg = b.op === "p" ? b.participantId : b.op === "c" ? b.index : undefined;
        expect(pressNote(live(state), press(b.op, arg), CODES).ok, `${state.value} ${b.op}`).toBe(
          true,
        );
      }
    }
  });
});

describe("note: stored states", () => {
  it.each([
    ["corrupt JSON", "{"],
    ["a finished note", JSON.stringify(st("saved"))],
    ["an unknown step", JSON.stringify({ value: "dreaming", context: st("typing").context })],
    ["codes that are not a list", JSON.stringify({ value: "coding", context: { codes: "joy" } })],
  ])("%s is not continued", (_name, json) => {
    expect(parseNoteState(json)).toBeNull();
  });
  it("a stored step round-trips", () => {
    const s = st("coding", { participantId: 3, text: "t", codes: ["fear"] });
    expect(parseNoteState(JSON.stringify(s))).toEqual(s);
  });
});
