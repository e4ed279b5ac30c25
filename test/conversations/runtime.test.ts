// The conversation runtime on a real SQLite file: which presses are stale (nonce, machine version,
// message), a lost compare-and-set race, and that a step's state, effects and processed update
// commit together or not at all.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { audit } from "../../src/store/audit.js";
import { recordProcessed, wasProcessed } from "../../src/store/updates.js";
import { conversationRuntime, versionTag, type Runtime } from "../../src/conversations/runtime.js";
import {
  StepRejected,
  type ConversationKind,
  type Presenter,
  type Screen,
} from "../../src/conversations/kind.js";
import { commitStep } from "../../src/usecases/conversation-step.js";

// A counter: "inc" counts and records an audit event, "fail" writes then throws, "refuse" is
// refused by a database check, "end" finishes the conversation.
interface Counter {
  count: number;
}
type In = "inc" | "fail" | "refuse" | "end" | "nonsense";
type Fx = { type: "record"; count: number } | { type: "fail" } | { type: "refuse" };

function counterKind(version = "counter.1"): ConversationKind<Counter, In, Fx, string> {
  return {
    kind: "counter",
    machineId: "counter",
    machineVersion: version,
    parse: (json) => {
      const st = JSON.parse(json) as Counter;
      return typeof st.count === "number" ? st : null;
    },
    finished: (st) => st.count < 0,
    step(state, input) {
      switch (input) {
        case "inc":
          return {
            ok: true,
            state: { count: state.count + 1 },
            effects: [{ type: "record", count: state.count + 1 }],
          };
        case "fail":
          return { ok: true, state: { count: state.count + 100 }, effects: [{ type: "fail" }] };
        case "refuse":
          return { ok: true, state: { count: state.count + 1 }, effects: [{ type: "refuse" }] };
        case "end":
          return { ok: true, state: { count: -1 }, effects: [] };
        default:
          return { ok: false, reason: "not-understood" };
      }
    },
    async apply(tx, effects) {
      for (const e of effects) {
        await audit(tx, {
          actor: { kind: "system" },
          action: "counter.step",
          entity: "Counter",
          data: { e: e.type },
        });
        if (e.type === "fail") throw new Error("disk full");
        if (e.type === "refuse") throw new StepRejected("not-allowed");
      }
    },
    view: (st): Screen => ({
      html: `count ${st.count}`,
      buttons: [[{ text: "+1", op: "i" }]],
    }),
  };
}

/** Records what would go to the chat. */
function recorder() {
  let next = 100;
  const calls: string[] = [];
  const p: Presenter = {
    async send(screen, nonce) {
      calls.push(`send ${screen.html} #${nonce}`);
      return next++;
    },
    async edit(messageId, screen, nonce) {
      calls.push(`edit ${messageId} ${screen.html} #${nonce}`);
    },
    async strip(messageId) {
      calls.push(`strip ${messageId}`);
    },
  };
  return { p, calls };
}

let t: TempDb;
let accountId: number;
let rt: Runtime<Counter, In, Fx, string>;
const now = () => new Date("2026-12-02T10:00:00Z");
const processed = (updateId: number) => async (tx: Parameters<typeof recordProcessed>[0]) =>
  recordProcessed(tx, updateId, now());
const row = () =>
  t.db.conversationState.findUnique({
    where: { accountId_kind: { accountId, kind: "counter" } },
  });
const steps = () => t.db.auditEvent.count({ where: { action: "counter.step" } });

beforeEach(async () => {
  t = await tempDatabase();
  accountId = (
    await t.db.account.create({ data: { telegramUserId: "1", chatId: "1", role: "facilitator" } })
  ).id;
  rt = conversationRuntime(counterKind(), { db: t.db, now });
});
afterEach(async () => t.cleanup());

/** A started and shown conversation: nonce 1, bound to message 100. */
async function shown() {
  const { p } = recorder();
  const conv = await rt.present(await rt.start(accountId, { count: 0 }), p);
  expect(conv).toMatchObject({ nonce: 1, messageId: 100 });
  return conv;
}

describe("press check", () => {
  const cases: {
    name: string;
    press: { nonce: number; messageId: number | undefined; tag?: string };
    version?: string;
  }[] = [
    { name: "an older nonce", press: { nonce: 0, messageId: 100 } },
    { name: "a newer nonce", press: { nonce: 2, messageId: 100 } },
    { name: "another message", press: { nonce: 1, messageId: 99 } },
    { name: "an inline message (no id)", press: { nonce: 1, messageId: undefined } },
    {
      name: "another machine's tag",
      press: { nonce: 1, messageId: 100, tag: versionTag("counter.0") },
    },
    {
      name: "a row from another machine version",
      press: { nonce: 1, messageId: 100 },
      version: "counter.2",
    },
  ];
  for (const c of cases) {
    it(`${c.name} is a stale press and changes nothing`, async () => {
      await shown();
      const before = await row();
      const runner = c.version
        ? conversationRuntime(counterKind(c.version), { db: t.db, now })
        : rt;
      const out = await runner.press(accountId, c.press, "inc", processed(7));
      expect(out.status).toBe("stale");
      expect(await row()).toEqual(before);
      expect(await steps()).toBe(0);
      expect(await wasProcessed(t.db, 7)).toBe(false);
    });
  }

  it("a live press steps: the nonce moves, the message unbinds, effects and the update commit", async () => {
    await shown();
    const out = await rt.press(
      accountId,
      { nonce: 1, messageId: 100, tag: versionTag("counter.1") },
      "inc",
      processed(7),
    );
    expect(out).toMatchObject({
      status: "stepped",
      conv: { nonce: 2, messageId: null, state: { count: 1 } },
    });
    expect(await row()).toMatchObject({ nonce: 2, messageId: null, snapshot: '{"count":1}' });
    expect(await steps()).toBe(1);
    expect(await wasProcessed(t.db, 7)).toBe(true);
    // The same press again (a redelivery that slipped past exactly-once) is stale now.
    expect((await rt.press(accountId, { nonce: 1, messageId: 100 }, "inc")).status).toBe("stale");
    expect(await steps()).toBe(1);
  });

  it("between a commit and its new message any message's press with the nonce is live", async () => {
    await shown();
    await rt.press(accountId, { nonce: 1, messageId: 100 }, "inc");
    const out = await rt.press(accountId, { nonce: 2, messageId: 555 }, "inc");
    expect(out.status).toBe("stepped");
  });

  it("an input the machine refuses leaves everything as it was", async () => {
    await shown();
    const before = await row();
    const out = await rt.press(accountId, { nonce: 1, messageId: 100 }, "nonsense", processed(7));
    expect(out).toMatchObject({ status: "rejected", reason: "not-understood" });
    expect(await row()).toEqual(before);
    expect(await wasProcessed(t.db, 7)).toBe(false);
  });

  it("no conversation: stale", async () => {
    expect((await rt.press(accountId, { nonce: 1, messageId: 100 }, "inc")).status).toBe("stale");
    expect((await rt.input(accountId, "inc")).status).toBe("stale");
  });
});

describe("commit", () => {
  it("an effect that fails rolls back the state, the other effects and the processed update", async () => {
    await shown();
    const before = await row();
    await expect(
      rt.press(accountId, { nonce: 1, messageId: 100 }, "fail", processed(8)),
    ).rejects.toThrow("disk full");
    expect(await row()).toEqual(before);
    expect(await steps()).toBe(0);
    expect(await wasProcessed(t.db, 8)).toBe(false);
  });

  it("an effect's database check refuses the step: rolled back, the reason returned", async () => {
    await shown();
    const before = await row();
    const out = await rt.press(accountId, { nonce: 1, messageId: 100 }, "refuse", processed(8));
    expect(out).toMatchObject({ status: "rejected", reason: "not-allowed" });
    expect(await row()).toEqual(before);
    expect(await steps()).toBe(0);
    expect(await wasProcessed(t.db, 8)).toBe(false);
  });

  it("a finished conversation's row goes with its last step", async () => {
    await shown();
    const out = await rt.press(accountId, { nonce: 1, messageId: 100 }, "end");
    expect(out).toMatchObject({ status: "stepped", finished: true });
    expect(await row()).toBeNull();
    expect(await rt.load(accountId)).toBeNull();
  });

  it("a lost compare-and-set writes nothing: not the state, not the effects, not the update", async () => {
    const conv = await shown();
    // Another process steps first.
    await rt.press(accountId, { nonce: 1, messageId: 100 }, "inc");
    const before = await row();
    let effectsRan = false;
    const out = await commitStep(
      t.db,
      {
        stateId: conv.id,
        expectedNonce: conv.nonce,
        nonce: conv.nonce + 1,
        snapshot: '{"count":42}',
        machineVersion: "counter.1",
        finished: false,
      },
      async () => {
        effectsRan = true;
      },
      now(),
      processed(9),
    );
    expect(out).toBe("stale");
    expect(effectsRan).toBe(false);
    expect(await row()).toEqual(before);
    expect(await wasProcessed(t.db, 9)).toBe(false);
  });

  it("two processes pressing the same button: exactly one step commits", async () => {
    for (let round = 0; round < 10; round++) {
      const conv = (await rt.load(accountId)) ?? (await shown());
      const other = conversationRuntime(counterKind(), { db: t.db, now });
      const press = { nonce: conv.nonce, messageId: conv.messageId ?? undefined };
      const outs = await Promise.all([
        rt.press(accountId, press, "inc"),
        other.press(accountId, press, "inc"),
      ]);
      expect(outs.map((o) => o.status).sort()).toEqual(["stale", "stepped"]);
      expect(await steps()).toBe(round + 1);
      expect(JSON.parse((await row())!.snapshot)).toEqual({ count: round + 1 });
    }
  });

  it("typed input is committed against the nonce it was stepped from", async () => {
    await shown();
    const out = await rt.input(accountId, "inc", processed(10));
    expect(out).toMatchObject({ status: "stepped", conv: { nonce: 2 } });
    expect(await wasProcessed(t.db, 10)).toBe(true);
  });
});

describe("present", () => {
  it("sends, replaces, edits and re-shows with the right nonce bound", async () => {
    const { p, calls } = recorder();
    let conv = await rt.present(await rt.start(accountId, { count: 0 }), p);
    const out = await rt.press(accountId, { nonce: conv.nonce, messageId: 100 }, "inc");
    if (out.status !== "stepped") throw new Error(out.status);
    conv = await rt.present(out.conv, p, { replacing: out.before.messageId });
    conv = await rt.present(conv, p, { edit: conv.messageId! });
    conv = await rt.reshow(conv, p);
    expect(calls).toEqual([
      "send count 0 #1",
      "strip 100",
      "send count 1 #2",
      "edit 101 count 1 #2",
      "strip 101",
      "send count 1 #3",
    ]);
    expect(await row()).toMatchObject({ nonce: 3, messageId: 102 });
    // A message sent for a nonce that has moved on is not bound.
    const stale = await rt.present({ ...conv, nonce: 1 }, p);
    expect(stale.messageId).toBe(conv.messageId);
    expect(await row()).toMatchObject({ nonce: 3, messageId: 102 });
  });

  it("restarting a conversation moves its nonce, so the old buttons are stale", async () => {
    const first = await shown();
    const again = await rt.start(accountId, { count: 5 });
    expect(again.nonce).toBe(first.nonce + 1);
    expect((await rt.press(accountId, { nonce: first.nonce, messageId: 100 }, "inc")).status).toBe(
      "stale",
    );
  });
});
