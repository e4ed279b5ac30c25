// Seeded notes for the qualitative tests: two groups (experimental G-E, control G-C), sessions in
// both, notes and interviews with codes, one note with a code no longer in the codebook, one
// uncoded interview, one note without an author (an import), nicknames typed into the texts.
// Hand counts (codebook order) are in EXPECTED below; the tests check the report against them.
import type { Db } from "../../src/db/client.js";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createGroup } from "../../src/usecases/groups.js";

export const flows: LoadedFlows = (() => {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.flows;
})();

export const TELEGRAM_ID_1 = "731904552817";
export const TELEGRAM_ID_2 = "598812734401";
export const NICK_LATIN = "Xiaoming";
export const NICK_CJK = "小红";

const cli = { kind: "cli" } as const;

export interface Seeded {
  noteIds: number[];
  facilitators: number[];
}

export async function seedNotes(db: Db): Promise<Seeded> {
  await createGroup(db, { name: "G-E", arm: "experimental" }, cli);
  await createGroup(db, { name: "G-C", arm: "control" }, cli);
  const p = async (
    code: string,
    arm: "experimental" | "control",
    gender: "male" | "female",
    age: number,
    group: string,
  ) => addParticipant(db, { code, arm, gender, ageYears: age, group }, cli);
  const e1 = await p("E-01", "experimental", "male", 8, "G-E");
  const e2 = await p("E-02", "experimental", "female", 9, "G-E");
  const e3 = await p("E-03", "experimental", "male", 10, "G-E");
  const c1 = await p("C-01", "control", "female", 7, "G-C");
  const c2 = await p("C-02", "control", "male", 11, "G-C");
  await db.participant.updateMany({ data: { status: "consented" } });

  const f1 = await db.account.create({
    data: { telegramUserId: TELEGRAM_ID_1, chatId: TELEGRAM_ID_1, role: "facilitator" },
  });
  const f2 = await db.account.create({
    data: { telegramUserId: TELEGRAM_ID_2, chatId: TELEGRAM_ID_2, role: "facilitator" },
  });
  await db.nickname.create({
    data: { accountId: f1.id, participantId: e1.id, nickname: NICK_LATIN },
  });
  await db.nickname.create({
    data: { accountId: f2.id, participantId: c1.id, nickname: NICK_CJK },
  });

  const ge = (await db.group.findUniqueOrThrow({ where: { name: "G-E" } })).id;
  const gc = (await db.group.findUniqueOrThrow({ where: { name: "G-C" } })).id;
  const session = (groupId: number, number: number, day: string) =>
    db.groupSession.create({
      data: { groupId, number, heldOn: new Date(`${day}T00:00:00Z`), status: "closed" },
    });
  const e1s = await session(ge, 1, "2025-03-01");
  const e2s = await session(ge, 2, "2025-03-08");
  const c1s = await session(gc, 1, "2025-03-02");

  const noteIds: number[] = [];
  const note = async (
    participantId: number,
    accountId: number | null,
    sessionId: number | null,
    kind: "note" | "interview",
    codes: string[],
    text: string,
    at: string,
  ) => {
    const n = await db.note.create({
      data: {
        participantId,
        accountId,
        sessionId,
        kind,
        text,
        codes: JSON.stringify(codes),
        createdAt: new Date(at),
      },
    });
    noteIds.push(n.id);
  };
  // 1..8 as in the header comment of EXPECTED.
  await note(
    e1.id,
    f1.id,
    e1s.id,
    "note",
    ["humour", "peer_support"],
    `${NICK_LATIN} shared crayons with E-02, laughing`,
    "2025-03-01T10:00:00Z",
  );
  await note(
    e2.id,
    f1.id,
    e1s.id,
    "note",
    ["peer_support"],
    "Helped another child join the game",
    "2025-03-01T10:05:00Z",
  );
  await note(
    e3.id,
    f1.id,
    e2s.id,
    "note",
    ["withdrawal"],
    "Sat apart most of the session",
    "2025-03-08T10:00:00Z",
  );
  // An interview after the programme: Chinese text, an emoji (two UTF-16 units, one code point), the nickname.
  await note(
    e1.id,
    f1.id,
    null,
    "interview",
    ["peer_support", "emotion_expression"],
    `我交了一个朋友。${NICK_LATIN} said: "I'm happy 😊"\nand waved`,
    "2025-04-20T09:00:00Z",
  );
  await note(
    c1.id,
    f2.id,
    c1s.id,
    "note",
    ["withdrawal", "illness_talk"],
    `${NICK_CJK}说起了化疗 & <chemo>`,
    "2025-03-02T11:00:00Z",
  );
  await note(
    c2.id,
    f2.id,
    null,
    "interview",
    [],
    "Short interview, nothing coded",
    "2025-04-21T09:00:00Z",
  );
  await note(
    e2.id,
    f1.id,
    e2s.id,
    "note",
    ["peer_support", "old_code", "peer_support"],
    "An older tag, kept",
    "2025-03-08T10:30:00Z",
  );
  await note(
    c2.id,
    null,
    c1s.id,
    "note",
    ["humour"],
    "Joked with the nurse",
    "2025-03-02T11:30:00Z",
  );
  return { noteIds, facilitators: [f1.id, f2.id] };
}

type Counts = { segments: number; participants: number };
/**
 * Counted by hand from the notes above. Notes: 1 E-01 [humour, peer_support] G-E s1; 2 E-02
 * [peer_support] G-E s1; 3 E-03 [withdrawal] G-E s2; 4 E-01 interview [peer_support,
 * emotion_expression] no session; 5 C-01 [withdrawal, illness_talk] G-C s1; 6 C-02 interview []
 * no session; 7 E-02 [peer_support, old_code] G-E s2; 8 C-02 [humour] G-C s1 (no author).
 */
export const EXPECTED: Record<
  string,
  Counts & {
    note: number;
    interview: number;
    experimental: number;
    control: number;
    "G-C": number;
    "G-E": number;
    s1: number;
    s2: number;
    none: number;
  }
> = {
  peer_support: {
    segments: 4,
    participants: 2,
    note: 3,
    interview: 1,
    experimental: 4,
    control: 0,
    "G-C": 0,
    "G-E": 4,
    s1: 2,
    s2: 1,
    none: 1,
  },
  withdrawal: {
    segments: 2,
    participants: 2,
    note: 2,
    interview: 0,
    experimental: 1,
    control: 1,
    "G-C": 1,
    "G-E": 1,
    s1: 1,
    s2: 1,
    none: 0,
  },
  initiative: {
    segments: 0,
    participants: 0,
    note: 0,
    interview: 0,
    experimental: 0,
    control: 0,
    "G-C": 0,
    "G-E": 0,
    s1: 0,
    s2: 0,
    none: 0,
  },
  conflict: {
    segments: 0,
    participants: 0,
    note: 0,
    interview: 0,
    experimental: 0,
    control: 0,
    "G-C": 0,
    "G-E": 0,
    s1: 0,
    s2: 0,
    none: 0,
  },
  emotion_expression: {
    segments: 1,
    participants: 1,
    note: 0,
    interview: 1,
    experimental: 1,
    control: 0,
    "G-C": 0,
    "G-E": 1,
    s1: 0,
    s2: 0,
    none: 1,
  },
  illness_talk: {
    segments: 1,
    participants: 1,
    note: 1,
    interview: 0,
    experimental: 0,
    control: 1,
    "G-C": 1,
    "G-E": 0,
    s1: 1,
    s2: 0,
    none: 0,
  },
  family: {
    segments: 0,
    participants: 0,
    note: 0,
    interview: 0,
    experimental: 0,
    control: 0,
    "G-C": 0,
    "G-E": 0,
    s1: 0,
    s2: 0,
    none: 0,
  },
  humour: {
    segments: 2,
    participants: 2,
    note: 2,
    interview: 0,
    experimental: 1,
    control: 1,
    "G-C": 1,
    "G-E": 1,
    s1: 2,
    s2: 0,
    none: 0,
  },
  old_code: {
    segments: 1,
    participants: 1,
    note: 1,
    interview: 0,
    experimental: 1,
    control: 0,
    "G-C": 0,
    "G-E": 1,
    s1: 0,
    s2: 1,
    none: 0,
  },
};

/** Pairs of codes on the same note (each pair once), by hand: notes 1, 4, 5 and 7. */
export const EXPECTED_PAIRS: [string, string, number][] = [
  ["peer_support", "humour", 1],
  ["peer_support", "emotion_expression", 1],
  ["withdrawal", "illness_talk", 1],
  ["peer_support", "old_code", 1],
];
