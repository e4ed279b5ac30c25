// Access control, through the real bot: who may run which command and press which button; callback
// data bound to the account and chat it was sent to; invite codes single-use, expiring, stored
// hashed and throttled per chat; a child's data reaching only their family, their group's
// facilitators and the researchers; and the webhook refusing requests without the secret.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createHash } from "node:crypto";
import type { Update } from "grammy/types";
import {
  openStudy,
  enrolParent,
  enrolStaff,
  consentBoth,
  answerAll,
  logSession,
  findInDatabase,
  type Study,
} from "./study.js";
import { researchSnapshot, callbackDataOf, callbackUpdate, type Person } from "../support/fuzz.js";
import type { FakeMessage } from "../support/fake-telegram.js";
import { createInvite } from "../../src/usecases/invites.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { decodeCallback } from "../../src/telegram/callback-data.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { openDatabase } from "../../src/db/client.js";
import { deliverOutbox } from "../telegram/facilitator-support.js";

const REFUSED_COMMAND =
  /^(This command is not available for your role\.|You are not enrolled\. Please open the invite link from your study team\.)$/;
const REFUSED_TOAST = /^(Not available for your role\.|This button is no longer active\.)$/;

let study: Study;
let parent: Person; // AC-A1, group Alpha, consented, in the pre-test
let parent2: Person; // AC-A2, group Alpha, consented
let parentB: Person; // AC-B1, group Beta
let facGroup: Person; // leads Alpha
let facOther: Person; // leads Beta only
let researcher: Person;
let admin: Person;
let stranger: Person;
let roles: { name: string; person: Person }[];

beforeAll(async () => {
  study = await openStudy();
  const p = (id: number, firstName: string) =>
    study.person({ id, firstName, username: `acc${id}`, languageCode: "en" });
  parent = p(4101, "Parent A1");
  parent2 = p(4102, "Parent A2");
  parentB = p(4201, "Parent B1");
  facGroup = p(4501, "Facilitator Alpha");
  facOther = p(4502, "Facilitator Beta");
  researcher = p(4601, "Researcher");
  admin = p(4602, "Admin");
  stranger = p(4901, "Stranger");
  await enrolStaff(study, facGroup, "facilitator", "Alpha");
  await enrolStaff(study, facOther, "facilitator", "Beta");
  await enrolStaff(study, researcher, "researcher");
  await enrolStaff(study, admin, "admin");
  await enrolParent(study, parent, { code: "AC-A1", group: "Alpha" });
  await enrolParent(study, parent2, { code: "AC-A2", group: "Alpha" });
  await enrolParent(study, parentB, { code: "AC-B1", group: "Beta" });
  for (const x of [parent, parent2, parentB]) await consentBoth(x);
  roles = [
    { name: "parent", person: parent },
    { name: "facilitator of another group", person: facOther },
    { name: "facilitator of the group", person: facGroup },
    { name: "researcher", person: researcher },
    { name: "admin", person: admin },
    { name: "stranger", person: stranger },
  ];
}, 120_000);

afterAll(async () => {
  await study?.close();
});

/** Everything the bot did (calls) while `action` ran. */
async function during(action: () => Promise<unknown>) {
  const from = study.tg.calls.length;
  await action();
  return study.tg.calls.slice(from);
}

function sentTo(calls: { method: string; payload: Record<string, unknown> }[], chatId: number) {
  return calls.filter(
    (c) =>
      c.method !== "answerCallbackQuery" &&
      c.method !== "setMyCommands" &&
      Number(c.payload.chat_id) === chatId,
  );
}

/** A press by `presser` reported on a message in `owner`'s private chat (impossible from a real client). */
function pressIn(presser: Person, owner: Person, message: FakeMessage, data: string): Update {
  return callbackUpdate(presser.user(), data, {
    chat: owner.chat(),
    messageId: message.messageId,
    text: message.text,
    keyboard: message.keyboard,
  });
}

/** The nonce in a facilitator keyboard's callback data ("1x:ses:<nonce>:…"). */
function xNonce(m: FakeMessage): string {
  const d = decodeCallback(callbackDataOf(m)[0]);
  if (d?.kind !== "x") throw new Error("not a facilitator keyboard");
  return d.parts[0]!;
}

/** Everything a person's chat shows: texts and button labels. */
function screen(p: Person): string {
  return p
    .messages()
    .map(
      (m) =>
        `${m.text}\n${m.keyboard
          .flat()
          .map((b) => b.text)
          .join(" ")}`,
    )
    .join("\n");
}

async function conversationsOf(person: Person) {
  const account = await study.db.account.findUnique({
    where: { telegramUserId: String(person.id) },
  });
  return account ? study.db.conversationState.count({ where: { accountId: account.id } }) : 0;
}

describe("role-only commands", () => {
  // Which roles may run each command (the facilitator of another group may run facilitator
  // commands, but not about a child of a group they do not lead).
  const MATRIX: { cmd: string; allowed: string[]; groupBound?: boolean }[] = [
    { cmd: "/progress", allowed: ["researcher", "admin"] },
    { cmd: "/report qol-proxy", allowed: ["researcher", "admin"] },
    { cmd: "/report", allowed: ["researcher", "admin"] },
    { cmd: "/export", allowed: ["researcher", "admin"] },
    { cmd: "/session", allowed: ["facilitator of the group", "facilitator of another group"] },
    { cmd: "/note AC-A1 was quiet today", allowed: ["facilitator of the group"], groupBound: true },
    { cmd: "/interview AC-A1", allowed: ["facilitator of the group"], groupBound: true },
    { cmd: "/nickname AC-A1 Mia", allowed: ["facilitator of the group"], groupBound: true },
    { cmd: "/status", allowed: ["parent"] },
    { cmd: "/resume", allowed: ["parent"] },
    { cmd: "/withdraw", allowed: ["parent"] },
  ];

  it("refuse every other role, change nothing and send nothing else; the allowed roles get their answer", async () => {
    const outcomes: string[] = [];
    for (const { cmd, allowed, groupBound } of MATRIX) {
      for (const { name, person } of roles) {
        const before = await researchSnapshot(study.db);
        const conversations = await conversationsOf(person);
        const calls = await during(() => person.send(cmd));
        const replies = sentTo(calls, person.id);
        const others = calls.filter(
          (c) => c.payload.chat_id !== undefined && Number(c.payload.chat_id) !== person.id,
        );
        const texts = replies
          .filter((c) => c.method === "sendMessage")
          .map((c) => String(c.payload.text));
        const files = replies.filter(
          (c) => c.method === "sendDocument" || c.method === "sendPhoto",
        );
        expect(others, `${cmd} by ${name} reached another chat`).toEqual([]);
        if (allowed.includes(name)) {
          expect(
            texts.some((t) => REFUSED_COMMAND.test(t)),
            `${cmd} by ${name}`,
          ).toBe(false);
          expect(replies.length, `${cmd} by ${name}`).toBeGreaterThan(0);
          outcomes.push(`${cmd} ${name}: allowed`);
          continue;
        }
        const groupRefusal = groupBound && name === "facilitator of another group";
        expect(files, `${cmd} by ${name}`).toEqual([]);
        expect(texts, `${cmd} by ${name}`).toHaveLength(1);
        expect(texts[0], `${cmd} by ${name}`).toMatch(
          groupRefusal ? /is not a child in your groups/ : REFUSED_COMMAND,
        );
        expect(await researchSnapshot(study.db), `${cmd} by ${name}`).toBe(before);
        expect(await conversationsOf(person), `${cmd} by ${name}`).toBe(conversations);
        outcomes.push(`${cmd} ${name}: refused`);
      }
    }
    // The allowed roles really got what they asked for.
    for (const p of [researcher, admin])
      expect(
        study.tg.messages(p.id).filter((m) => m.kind === "document").length,
      ).toBeGreaterThanOrEqual(2);
    expect(
      study.tg
        .callsOf("sendDocument")
        .map((c) => Number(c.payload.chat_id))
        .every((id) => id === researcher.id || id === admin.id),
    ).toBe(true);
    expect(
      study.tg
        .callsOf("sendPhoto")
        .map((c) => Number(c.payload.chat_id))
        .every((id) => id === researcher.id || id === admin.id),
    ).toBe(true);
    expect((await study.db.nickname.findMany()).map((n) => n.nickname)).toEqual(["Mia"]);
    expect(outcomes.filter((o) => o.endsWith("refused"))).toHaveLength(
      MATRIX.length * roles.length - MATRIX.reduce((a, m) => a + m.allowed.length, 0),
    );
  }, 120_000);
});

describe("role-only buttons", () => {
  it("a forged facilitator, questionnaire, consent or withdrawal button is refused to every other role", async () => {
    const alpha = await study.db.group.findUniqueOrThrow({ where: { name: "Alpha" } });
    const kid = await study.db.participant.findUniqueOrThrow({ where: { code: "AC-A1" } });
    const buttons: { data: string; allowed: string[] }[] = [
      {
        data: `1x:ses:1:g:${alpha.id}`,
        allowed: ["facilitator of the group", "facilitator of another group"],
      },
      {
        data: `1x:ses:1:n:1`,
        allowed: ["facilitator of the group", "facilitator of another group"],
      },
      {
        data: `1x:note:1:p:${kid.id}`,
        allowed: ["facilitator of the group", "facilitator of another group"],
      },
      { data: `1c:c:y:1.0`, allowed: ["parent"] },
      { data: `1c:a:n:1.0`, allowed: ["parent"] },
      { data: `1w:y`, allowed: ["parent"] },
      {
        data: `1q:1:abcdef:a:0`,
        allowed: ["parent", "facilitator of the group", "facilitator of another group"],
      },
    ];
    for (const { data, allowed } of buttons) {
      for (const { name, person } of roles) {
        if (allowed.includes(name)) continue;
        // Pressed by a modified client on the newest bot message in their own chat.
        const target = person.messages().at(-1) ?? {
          chatId: person.id,
          messageId: 1,
          text: "…",
          html: "",
          keyboard: [],
          edits: 0,
          kind: "text" as const,
        };
        const before = await researchSnapshot(study.db);
        const u = person.pressUpdate(target, data);
        const calls = await during(() => person.deliver(u));
        expect(person.toastFor(u), `${data} by ${name}`).toMatch(REFUSED_TOAST);
        expect(
          calls.filter((c) => c.method !== "answerCallbackQuery"),
          `${data} by ${name}`,
        ).toEqual([]);
        expect(await researchSnapshot(study.db), `${data} by ${name}`).toBe(before);
      }
    }
  });

  it("a facilitator cannot pick, log or write about a group they do not lead", async () => {
    const alpha = await study.db.group.findUniqueOrThrow({ where: { name: "Alpha" } });
    const kid = await study.db.participant.findUniqueOrThrow({ where: { code: "AC-A1" } });
    const before = await researchSnapshot(study.db);
    await facOther.send("/session");
    const m = facOther.current();
    const pick = facOther.pressUpdate(m, `1x:ses:${xNonce(m)}:g:${alpha.id}`);
    await facOther.deliver(pick);
    expect(facOther.toastFor(pick)).toBe("This is not one of your groups.");
    await facOther.press("✖ Cancel", facOther.current());
    await facOther.send("/note");
    const picker = facOther.current();
    expect(
      picker.keyboard
        .flat()
        .map((b) => b.text)
        .join(" "),
    ).not.toMatch(/AC-A/);
    const forged = facOther.pressUpdate(picker, `1x:note:${xNonce(picker)}:p:${kid.id}`);
    await facOther.deliver(forged);
    expect(facOther.toastFor(forged)).toBe("This is not one of your groups.");
    await facOther.press("✖ Cancel", facOther.current());
    expect(await researchSnapshot(study.db)).toBe(before);
    // Nothing about Alpha's children ever reached the Beta facilitator (apart from the code they typed being refused).
    expect(screen(facOther).replace(/"AC-A1" is not a child in your groups\./g, "")).not.toMatch(
      /AC-A\d/,
    );
  });
});

describe("callback data is bound to the account and chat it was sent to", () => {
  it("a parent's live question, replayed by other accounts in their chats or in hers, changes nothing until she presses it", async () => {
    await parent.send("/resume");
    const question = parent.current();
    const data = callbackDataOf(question).find(
      (d) =>
        decodeCallback(d)?.kind === "q" && (decodeCallback(d) as { action: string }).action === "a",
    )!;
    const answers = await study.db.answer.count();
    const before = await researchSnapshot(study.db);
    await parent2.send("/resume");
    const attempts: { who: string; u: Update }[] = [
      // Another parent, on her own current question (as a modified client could send it).
      { who: "parent2 own chat", u: parent2.pressUpdate(parent2.current(), data) },
      // Another parent, claiming the press happened on the first parent's message in her chat.
      { who: "parent2 other chat", u: pressIn(parent2, parent, question, data) },
      { who: "facilitator", u: facGroup.pressUpdate(facGroup.messages().at(-1)!, data) },
      { who: "researcher", u: researcher.pressUpdate(researcher.messages().at(-1)!, data) },
      { who: "stranger", u: stranger.pressUpdate(stranger.messages().at(-1)!, data) },
    ];
    for (const { who, u } of attempts) {
      const calls = await during(() => study.bot.handleUpdate(u));
      expect(
        calls.filter((c) => c.method !== "answerCallbackQuery"),
        who,
      ).toEqual([]);
      const toast = calls.find((c) => c.method === "answerCallbackQuery")?.payload.text;
      expect(String(toast), who).toMatch(REFUSED_TOAST);
    }
    expect(await researchSnapshot(study.db)).toBe(before);
    expect(parent.current().messageId).toBe(question.messageId);
    // The data was live all along: the parent's own press is taken.
    await parent.deliver(parent.pressUpdate(question, data));
    expect(await study.db.answer.count()).toBe(answers + 1);
    // And pressed again (a replay), it is stale.
    const again = parent.pressUpdate(question, data);
    await parent.deliver(again);
    expect(parent.toastFor(again)).toBe("This button is no longer active.");
    expect(await study.db.answer.count()).toBe(answers + 1);
  });

  it("a facilitator's session-log buttons work only for that facilitator, in that chat", async () => {
    await facGroup.send("/session");
    const m = facGroup.current();
    const data = callbackDataOf(m).find((d) => /^1x:ses:\d+:n:/.test(d))!;
    const before = await researchSnapshot(study.db);
    for (const u of [
      facOther.pressUpdate(facOther.messages().at(-1)!, data),
      pressIn(facOther, facGroup, m, data),
      parent.pressUpdate(parent.messages().at(-1)!, data),
    ]) {
      const calls = await during(() => study.bot.handleUpdate(u));
      expect(calls.filter((c) => c.method !== "answerCallbackQuery")).toEqual([]);
    }
    expect(await researchSnapshot(study.db)).toBe(before);
    expect(facGroup.current().messageId).toBe(m.messageId);
    await facGroup.press("✖ Cancel", m);
    expect(facGroup.last().text).toMatch(/Cancelled/);
  });
});

describe("a forged press for another step", () => {
  it("with the live nonce, on the live message, changes nothing (session log and note)", async () => {
    await facGroup.send("/session");
    await facGroup.press((t) => t.startsWith("▶ Session"), facGroup.current());
    const dateStep = facGroup.current();
    expect(dateStep.text).toMatch(/When was the session held/);
    const before = await researchSnapshot(study.db);
    const nonce = xNonce(dateStep);
    // Ops of other steps: pick a session number, close, toggle attendance, redo a set, edit an item.
    for (const op of [
      "n:5",
      "n:6",
      "cl",
      "all",
      "ok",
      "t:1",
      "rd:1",
      "es:1",
      "ei:0",
      "v:0",
      "later",
      "am",
      "ed",
      "ea",
      "sk:1",
    ]) {
      const u = facGroup.pressUpdate(dateStep, `1x:ses:${nonce}:${op}`);
      await facGroup.deliver(u);
      expect(facGroup.toastFor(u), op).toMatch(REFUSED_TOAST);
      expect(await researchSnapshot(study.db), op).toBe(before);
    }
    await facGroup.press("✖ Cancel", facGroup.current());

    // (The note opened in the command matrix is still waiting: discard it first.)
    await facGroup.send("/note");
    if (!/Which child/.test(facGroup.current().text)) {
      await facGroup.press("✖ Cancel", facGroup.current());
      await facGroup.send("/note");
    }
    const picker = facGroup.current();
    expect(picker.text).toMatch(/Which child/);
    const noteNonce = xNonce(picker);
    // Tag a code, save, go back: none belongs to the child picker.
    for (const op of ["c:0", "s", "b", "zz"]) {
      const u = facGroup.pressUpdate(picker, `1x:note:${noteNonce}:${op}`);
      await facGroup.deliver(u);
      expect(facGroup.toastFor(u), op).toMatch(REFUSED_TOAST);
      expect(await researchSnapshot(study.db), op).toBe(before);
    }
    await facGroup.press("✖ Cancel", picker);
  });
});

describe("invite codes through /start", () => {
  it("are single-use: a second person with the same code is refused and gets no account", async () => {
    await addParticipant(
      study.db,
      { code: "AC-S1", arm: "control", gender: "male", ageYears: 7 },
      { kind: "cli" },
    );
    const { code } = await createInvite(
      study.db,
      { role: "parent", participantCode: "AC-S1", ttlHours: 24 },
      { kind: "cli" },
    );
    const first = study.person({ id: 4701, firstName: "First" });
    const second = study.person({ id: 4702, firstName: "Second" });
    await first.send(`/start ${code}`);
    expect(first.current().text).toMatch(/consent/i);
    await second.send(`/start ${code}`);
    expect(second.last().text).toBe(
      "That invite has already been used. If you need a new one, please ask your study team.",
    );
    expect(await study.db.account.findUnique({ where: { telegramUserId: "4702" } })).toBeNull();
    // An enrolled person cannot take a second role with another invite; the invite stays unused.
    const extra = await createInvite(
      study.db,
      { role: "researcher", ttlHours: 24 },
      { kind: "cli" },
    );
    await first.send(`/start ${extra.code}`);
    expect(first.messages().some((m) => /already enrolled/.test(m.text))).toBe(true);
    expect(
      (await study.db.account.findUniqueOrThrow({ where: { telegramUserId: "4701" } })).role,
    ).toBe("parent");
    expect(
      (
        await study.db.invite.findUniqueOrThrow({
          where: { codeHash: createHash("sha256").update(extra.code).digest("hex") },
        })
      ).usedAt,
    ).toBeNull();
  });

  it("expire", async () => {
    const past = new Date(Date.now() - 3 * 3600_000);
    const { code } = await createInvite(
      study.db,
      { role: "researcher", ttlHours: 2 },
      { kind: "cli" },
      past,
    );
    const late = study.person({ id: 4703, firstName: "Late" });
    await late.send(`/start ${code}`);
    expect(late.last().text).toBe(
      "That invite has expired. Please ask your study team for a new one.",
    );
    expect(await study.db.account.findUnique({ where: { telegramUserId: "4703" } })).toBeNull();
  });

  it("are stored only as a hash: the code appears in no table and no column", async () => {
    const { code } = await createInvite(
      study.db,
      { role: "facilitator", ttlHours: 24, group: "Alpha" },
      { kind: "cli" },
    );
    expect(await findInDatabase(study.db, code)).toEqual([]);
    const hash = createHash("sha256").update(code).digest("hex");
    expect(await findInDatabase(study.db, hash)).toEqual(["Invite.codeHash"]);
    const newcomer = study.person({ id: 4704, firstName: "Newcomer" });
    await newcomer.send(`/start ${code}`);
    expect(newcomer.last().text).toMatch(/enrolled/i);
    expect(await findInDatabase(study.db, code)).toEqual([]);
  });

  it("brute force from one chat is throttled (even the right code is then refused), other chats are not", async () => {
    const { code } = await createInvite(
      study.db,
      { role: "researcher", ttlHours: 24 },
      { kind: "cli" },
    );
    const guesser = study.person({ id: 4705, firstName: "Guesser" });
    for (let i = 0; i < 5; i++) {
      await guesser.send(`/start guess${i}AAAAAAAAAAAAAAA`);
      expect(guesser.last().text).toBe(
        "That invite code is not valid. Please check the link your study team sent you.",
      );
    }
    await guesser.send(`/start ${code}`);
    expect(guesser.last().text).toMatch(/^Too many wrong codes from this chat/);
    expect(await study.db.account.findUnique({ where: { telegramUserId: "4705" } })).toBeNull();
    // The throttle counter is keyed by an HMAC of the chat, not by the chat id or a plain hash of it.
    const keys = (await study.db.failedAttempt.findMany()).map((r) => r.keyHash);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    expect(
      keys.every(
        (k) => /^[0-9a-f]{64}$/.test(k) && k !== createHash("sha256").update("4705").digest("hex"),
      ),
    ).toBe(true);
    const honest = study.person({ id: 4706, firstName: "Honest" });
    await honest.send(`/start ${code}`);
    expect(honest.last().text).toMatch(/enrolled/i);
  });
});

describe("a child's data reaches only their family, their group's facilitators and the researchers", () => {
  it("a low session rating alerts the group's facilitators only; the family never sees a score", async () => {
    await answerAll(parent);
    await logSession(facGroup);
    // The close's outbox jobs go out (the bot process's scheduler does this right after the commit).
    await deliverOutbox(study);
    // The family now has the session questionnaire: rate everything 0.
    const from = study.tg.calls.length;
    await answerAll(parent, (m) =>
      m.keyboard.flat().some((b) => b.text === "0 (not at all)") ? "0 (not at all)" : undefined,
    );
    await deliverOutbox(study);
    const calls = study.tg.calls
      .slice(from)
      .filter((c) => c.method === "sendMessage" || c.method === "editMessageText");
    const alerts = calls.filter((c) =>
      /Low session rating|Ratings differ/.test(String(c.payload.text)),
    );
    expect(alerts.length).toBeGreaterThan(0);
    // (The group's facilitators: the one who logged the session and the one who joined by invite above.)
    const alpha = await study.db.groupFacilitator.findMany({
      where: { group: { name: "Alpha" } },
      include: { account: true },
    });
    const leaders = alpha.map((f) => Number(f.account.chatId));
    expect(leaders).toHaveLength(2);
    expect(new Set(alerts.map((c) => Number(c.payload.chat_id)))).toEqual(new Set(leaders));
    expect(
      String(alerts.find((c) => /Low session rating/.test(String(c.payload.text)))!.payload.text),
    ).toContain("AC-A1");
    // Nobody but the family and the group's facilitator heard anything about it.
    expect(
      calls
        .filter((c) => ![parent.id, ...leaders].includes(Number(c.payload.chat_id)))
        .map((c) => c.payload.chat_id),
    ).toEqual([]);
    expect(
      calls
        .filter((c) => Number(c.payload.chat_id) === parent.id)
        .map((c) => String(c.payload.text))
        .join("\n"),
    ).not.toMatch(/Low session rating|Total|of 40/);
  });

  it("reports and exports go to researchers and admins only, and no chat ever shows another family's or group's children", async () => {
    const files = [...study.tg.callsOf("sendDocument"), ...study.tg.callsOf("sendPhoto")];
    expect(files.length).toBeGreaterThan(0);
    expect(new Set(files.map((c) => Number(c.payload.chat_id)))).toEqual(
      new Set([researcher.id, admin.id]),
    );
    expect(screen(parent)).not.toMatch(/AC-A2|AC-B1/);
    expect(screen(parent2)).not.toMatch(/AC-A1|AC-B1/);
    expect(screen(parentB)).not.toMatch(/AC-A\d/);
    // (Apart from the code they typed themselves being refused.)
    expect(screen(facOther).replace(/"AC-A1" is not a child in your groups\./g, "")).not.toMatch(
      /AC-A\d|Mia/,
    );
    expect(screen(stranger)).not.toMatch(/AC-[AB]\d/);
    // The facilitator's nickname for a child stays in that facilitator's chat.
    for (const p of [parent, parent2, parentB, facOther, researcher, admin, stranger])
      expect(screen(p)).not.toContain("Mia");
  });
});

describe("Telegram's validation", () => {
  it("accepted every call the bot made in all of the above (refusals included)", () => {
    expect(study.tg.rejections.map((r) => `${r.method}: ${r.description}`)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("webhook mode (the real bot process)", () => {
  const SECRET = "hook_Secret-123";
  let sandbox: Sandbox;
  let proc: ChildProcess;
  let db: TempDb;
  let port: number;
  let stderr = "";

  beforeAll(async () => {
    db = await tempDatabase();
    await db.db.$disconnect();
    sandbox = await startSandbox({ token: "777000:WEBHOOK-TEST" });
    port = await freePort();
    proc = spawn(process.execPath, ["bin/start.mjs"], {
      env: {
        ...process.env,
        BOT_TOKEN: sandbox.token,
        TELEGRAM_API_ROOT: sandbox.apiRoot,
        WEBHOOK_URL: `http://127.0.0.1:${port}/telegram`,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_PORT: String(port),
        DATABASE_URL: db.url,
        LOG_LEVEL: "warn",
        SCHEDULER_POLL_MS: "60000",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc.stderr!.on("data", (b: Buffer) => void (stderr += b.toString()));
    await waitFor(
      `setWebhook (stderr: ${stderr})`,
      () => sandbox.calls.some((c) => c.method === "setWebhook" && c.outcome?.ok) || undefined,
    );
  }, 60_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    await sandbox?.stop();
    await db?.cleanup();
  }, 30_000);

  function post(update: unknown, secret?: string) {
    return fetch(`http://127.0.0.1:${port}/telegram`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(secret !== undefined ? { "X-Telegram-Bot-Api-Secret-Token": secret } : {}),
      },
      body: JSON.stringify(update),
    });
  }

  it("registers the webhook with the secret, refuses requests without it or with a wrong one, and handles the right one", async () => {
    const set = sandbox.calls.find((c) => c.method === "setWebhook")!;
    expect(set.params.secret_token).toBe(SECRET);
    const user = sandbox.createUser({ firstName: "Hook", id: 88_001 });
    const update = (id: number) => ({
      update_id: id,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: "private", first_name: "Hook" },
        from: { id: user.id, is_bot: false, first_name: "Hook" },
        text: "/help",
        entities: [{ type: "bot_command", offset: 0, length: 5 }],
      },
    });
    const repliesTo = () =>
      sandbox.calls.filter(
        (c) => c.method === "sendMessage" && Number(c.params.chat_id) === user.id,
      );

    // Telegram's own delivery (the sandbox sends the secret header) works end to end.
    user.sendText("/start");
    const reply = await user.waitForBotMessage(undefined, 10_000);
    expect(reply.text).toMatch(/invite/i);
    const answered = repliesTo().length;

    const none = await post(update(900_001));
    const wrong = await post(update(900_002), "not-the-secret");
    const almost = await post(update(900_003), SECRET.toLowerCase());
    expect([none.status, wrong.status, almost.status]).toEqual([403, 403, 403]);
    // Give a wrongly accepted update time to show up, then check nothing happened.
    await new Promise((r) => setTimeout(r, 500));
    expect(repliesTo()).toHaveLength(answered);
    const check = await openDatabase(db.url, { migrate: false });
    try {
      expect(
        await check.processedUpdate.count({
          where: { updateId: { in: [900_001n, 900_002n, 900_003n] } },
        }),
      ).toBe(0);
    } finally {
      await check.$disconnect();
    }

    const right = await post(update(900_004), SECRET);
    expect(right.status).toBe(200);
    const handled = await waitFor(
      "the reply to the authenticated update",
      () => repliesTo()[answered],
    );
    expect(String(handled.params.text)).toMatch(/not enrolled/);
    expect(sandbox.rejections.filter((r) => !r.injected)).toEqual([]);
  }, 60_000);
});
