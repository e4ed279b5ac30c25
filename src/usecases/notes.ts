// A facilitator's note or interview note on one child, tagged with qualitative codes. The text
// stays in its table (exported for the qualitative analysis); the audit event holds its length
// and a digest, never the text.
import { createHash } from "node:crypto";
import type { Db, Tx } from "../db/client.js";
import { audit } from "../store/audit.js";
import type { NoteKind } from "../domain/conversations/note.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

export interface NoteInput {
  accountId: number;
  participant: { id: number; code: string };
  /** The group session the note belongs to, if any. */
  sessionId: number | null;
  kind: NoteKind;
  text: string;
  codes: string[];
}

/** Writes the note; `alsoCommit` (e.g. ending the note conversation) commits with it. */
export async function recordNote(
  db: Db,
  input: NoteInput,
  now: Date,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<number> {
  return db.$transaction(async (tx) => {
    const id = await writeNote(tx, input, now);
    await alsoCommit(tx);
    return id;
  });
}

/** Writes the note and its audit event inside the caller's transaction (a conversation step's). */
export async function writeNote(tx: Tx, input: NoteInput, now: Date): Promise<number> {
  const note = await tx.note.create({
    data: {
      participantId: input.participant.id,
      accountId: input.accountId,
      sessionId: input.sessionId,
      kind: input.kind,
      text: input.text,
      codes: JSON.stringify(input.codes),
      createdAt: now,
    },
  });
  await audit(tx, {
    actor: { kind: "account", accountId: input.accountId },
    action: "note.create",
    entity: "Note",
    entityId: note.id,
    at: now,
    data: {
      participant: input.participant.code,
      kind: input.kind,
      codes: input.codes,
      session: input.sessionId,
      chars: input.text.length,
      digest: textDigest(input.text),
    },
  });
  return note.id;
}

/**
 * The digest the audit keeps of a free text: the one src/usecases/sessions.ts computes for
 * reflections (kept here so use cases do not depend on that module, which reaches into the bot).
 */
export function textDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
