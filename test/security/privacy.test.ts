// Privacy: a scripted study run through the bot by people with unmistakable names, usernames and
// Telegram ids (enrolment, consent, questionnaires, a session log with a note and a nickname,
// reports, a failing send, strangers, reminders from the scheduler), with every log line captured
// at debug level. Neither the logs nor any file of the research export may contain an id, a
// username or a name, and in the database the Telegram ids live in Account and nowhere else.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import type { Person, Persona } from "../support/fuzz.js";
import { exportData } from "../../src/usecases/export.js";
import { tick } from "../../src/scheduler/loop.js";
import { notifyDeps } from "../../src/telegram/outbound.js";
import { SendPacer } from "../../src/notify/pacer.js";
import { VirtualClock } from "../../src/scheduler/clock.js";

const PEOPLE = {
  mum: {
    id: 987654321,
    firstName: "Zyxwvu",
    lastName: "Qorvantis",
    username: "zyx_parent_77",
    languageCode: "en",
  },
  dad: {
    id: 918273645,
    firstName: "Ploxtrum",
    lastName: "Wendigast",
    username: "plox_dad_42",
    languageCode: "zh",
  },
  granny: { id: 902468135, firstName: "Murgatroyd", username: "murga_gran_3", languageCode: "en" },
  facilitator: {
    id: 913572468,
    firstName: "Vandrella",
    lastName: "Okonkwoz",
    username: "vandrella_fac",
    languageCode: "en",
  },
  researcher: {
    id: 934561278,
    firstName: "Quillibert",
    username: "quill_research",
    languageCode: "en",
  },
  admin: { id: 945612387, firstName: "Brontavia", username: "bront_admin", languageCode: "en" },
  stranger: {
    id: 956781234,
    firstName: "Xerophina",
    lastName: "Blatherwick",
    username: "xero_stranger",
    languageCode: "de",
  },
} satisfies Record<string, Persona>;

/** The facilitator's private nickname for a child: it must stay in the facilitator's chat too. */
const NICKNAME = "Lumpkinella";

const clock = new VirtualClock(Date.UTC(2030, 2, 4, 9, 0, 0));
let study: Study;
let exportDir: string;
let remindersSent = 0;
const people = {} as Record<keyof typeof PEOPLE, Person>;

function needles(): string[] {
  return Object.values(PEOPLE).flatMap((p) => [
    String(p.id),
    p.username,
    p.firstName,
    ...("lastName" in p ? [p.lastName] : []),
  ]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

beforeAll(async () => {
  study = await openStudy({ logLevel: "debug", now: () => clock.date() });
  for (const [key, profile] of Object.entries(PEOPLE))
    people[key as keyof typeof PEOPLE] = study.person(profile);
  const { mum, dad, granny, facilitator, researcher, admin, stranger } = people;

  await enrolStaff(study, facilitator, "facilitator", "Sunflower");
  await enrolStaff(study, researcher, "researcher");
  await enrolStaff(study, admin, "admin");
  await enrolParent(study, mum, { code: "PV-01", group: "Sunflower", gender: "female", age: 8 });
  await enrolParent(study, dad, { code: "PV-02", group: "Sunflower", gender: "male", age: 10 });
  await enrolParent(study, granny, { code: "PV-03", arm: "control", gender: "male", age: 7 });
  await consentBoth(mum);
  await consentBoth(dad);
  await granny.press("I do not agree");

  // Mum answers everything, with a Back and a Pause on the way; Dad answers part of it.
  await mum.press((t) => !/Back|Pause|Skip/.test(t));
  await mum.press("◀ Back");
  await mum.press("⏸ Pause");
  await mum.send("back again");
  await answerAll(mum);
  for (let i = 0; i < 7; i++) await dad.press((t) => !/Back|Pause|Skip/.test(t));

  // The facilitator: a nickname, a note that uses it, a session log, then the family's rating.
  await facilitator.send(`/nickname PV-01 ${NICKNAME}`);
  await facilitator.send(`/note PV-01 ${NICKNAME} joined the drawing game and laughed a lot`);
  await facilitator.press((t) => t.startsWith("⬜"), facilitator.current());
  await facilitator.press((t) => t.startsWith("💾"), facilitator.current());
  await logSession(facilitator);
  await answerAll(mum, (m) => (m.keyboard.flat().some((b) => b.text === "2") ? "2" : undefined));

  // A send fails (the family blocked the bot for a moment): the error is logged.
  study.tg.failNext("sendMessage", {
    code: 403,
    description: "Forbidden: bot was blocked by the user",
  });
  await dad.send("/status");

  // Strangers and junk.
  await stranger.send("/start not-a-real-code-at-all");
  await stranger.send(`hello, I am ${PEOPLE.stranger.firstName} (@${PEOPLE.stranger.username})`);
  await stranger.send("/progress");
  await dad.send(`my name is ${PEOPLE.dad.firstName}`);

  // The researcher and admin look at the study.
  await researcher.send("/progress");
  await researcher.send("/report social-skills");
  await researcher.send("/export");
  await admin.send("/progress");

  // Days later the scheduler reminds Dad of his unfinished questionnaire.
  clock.advance(3 * 24 * 3600_000);
  const pacer = new SendPacer({ clock });
  for (let i = 0; i < 3; i++)
    remindersSent += (await tick(notifyDeps(study.services), { pacer })).sent;

  exportDir = mkdtempSync(join(tmpdir(), "circle-privacy-export-"));
  await exportData(study.db, study.services.flows, exportDir, { kind: "cli" });
}, 180_000);

afterAll(async () => {
  if (exportDir) rmSync(exportDir, { recursive: true, force: true });
  await study?.close();
});

describe("privacy of a full scripted study", () => {
  it("really ran: answers, a note, a closed session, a reminder, an export, and logs including an error", async () => {
    expect(await study.db.answer.count()).toBeGreaterThan(60);
    expect(await study.db.note.count()).toBe(1);
    expect(await study.db.groupSession.count({ where: { status: "closed" } })).toBe(1);
    expect(filesUnder(exportDir).length).toBeGreaterThanOrEqual(10);
    expect(remindersSent).toBeGreaterThan(0);
    const entries = study.log.entries();
    expect(entries.length).toBeGreaterThan(0);
    // The failing send was logged (so error paths are part of what is scanned).
    expect(entries.some((e) => e.level >= 50)).toBe(true);
    // The names really were on the wire, so finding none below means something.
    expect(people.facilitator.messages().some((m) => m.text.includes(NICKNAME))).toBe(true);
    // Telegram accepted every call but the one failure injected on purpose.
    expect(study.tg.rejections.map((r) => r.description)).toEqual([
      "Forbidden: bot was blocked by the user",
    ]);
  });

  it("no log line carries a Telegram id, a username or a name", () => {
    const logs = study.log.text();
    const found = needles().filter((n) => logs.includes(n));
    expect(found).toEqual([]);
    expect(logs).not.toContain(NICKNAME);
  });

  it("no exported file carries a Telegram id, a username, a name or a facilitator's nickname", () => {
    const hits: string[] = [];
    for (const file of filesUnder(exportDir)) {
      const content = readFileSync(file, "utf8");
      for (const n of [...needles(), NICKNAME])
        if (content.includes(n)) hits.push(`${file.slice(exportDir.length + 1)}: ${n}`);
    }
    expect(hits).toEqual([]);
    // The note is exported, with the nickname replaced by the child's code.
    expect(readFileSync(join(exportDir, "notes.csv"), "utf8")).toMatch(
      /\[PV-01\] joined the drawing game/,
    );
  });

  it("Telegram ids are stored only in Account.telegramUserId and Account.chatId; names and usernames nowhere", async () => {
    for (const key of ["mum", "dad", "granny", "facilitator", "researcher", "admin"] as const) {
      expect(await findInDatabase(study.db, String(PEOPLE[key].id)), key).toEqual([
        "Account.chatId",
        "Account.telegramUserId",
      ]);
    }
    // The stranger never enrolled: their id is nowhere (the invite throttle keys by an HMAC).
    expect(await findInDatabase(study.db, String(PEOPLE.stranger.id))).toEqual([]);
    for (const p of Object.values(PEOPLE)) {
      for (const n of [p.username, p.firstName, ...("lastName" in p ? [p.lastName] : [])]) {
        // Free text a parent typed on purpose is the one place a name could be stored (answers
        // and notes are exported for analysis; the consent text asks families not to). Only the
        // typed "my name is …" below may hold one, and it went nowhere: no text item was asked.
        expect(await findInDatabase(study.db, n), n).toEqual([]);
      }
    }
  });
});
