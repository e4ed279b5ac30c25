import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { unzipSync } from "fflate";
import { tempDatabase, type TempDb } from "../support/db.js";
import { makeTestBot, shippedFlows, type TestBot } from "../support/bot.js";
import { researcherFeature } from "../../src/telegram/features/researcher.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { importAnswers } from "../../src/usecases/import.js";

let tmp: TempDb;
let tb: TestBot;

beforeEach(async () => {
  tmp = await tempDatabase();
  tb = makeTestBot(tmp.db, tmp.url, { features: [researcherFeature] });
  const csv = readFileSync("test/fixtures/report/answers.csv", "utf8");
  const r = await importAnswers(tmp.db, shippedFlows(), csv, {
    file: "answers.csv",
    actor: { kind: "cli" },
  });
  expect(r.ok).toBe(true);
});
afterEach(async () => {
  await tb.db.$disconnect();
  await tmp.cleanup();
});

async function enrol(role: "researcher" | "parent", userId: number) {
  const participantCode = role === "parent" ? "PX1" : undefined;
  if (participantCode)
    await addParticipant(
      tb.db,
      { code: participantCode, arm: "control", gender: "female", ageYears: 9 },
      { kind: "cli" },
    );
  const { code } = await createInvite(
    tb.db,
    { role, participantCode, ttlHours: 1 },
    { kind: "cli" },
  );
  const u = tb.user(userId);
  await u.send(`/start ${code}`);
  return u;
}

describe("researcher commands", () => {
  it("give progress, a report with charts and an HTML document, and a zip export", async () => {
    const r = await enrol("researcher", 900);
    await r.send("/progress");
    expect(r.last().html).toMatch(/^<pre>/);
    await r.send("/report social-skills");
    const msgs = r.messages();
    const photos = msgs.filter((m) => m.kind === "photo");
    const docs = msgs.filter((m) => m.kind === "document");
    expect(photos.length).toBeGreaterThanOrEqual(1);
    expect(docs).toHaveLength(1);
    expect(msgs.some((m) => /ANCOVA/.test(m.text))).toBe(true);
    const docCall = tb.tg.callsOf("sendDocument")[0]!;
    expect((docCall.payload.document as { filename?: string }).filename).toBe(
      "report-social-skills.html",
    );

    await r.send("/export");
    const zipCall = tb.tg.callsOf("sendDocument")[1]!;
    const file = zipCall.payload.document as unknown as { filename: string; fileData: Uint8Array };
    expect(file.filename).toMatch(/^circle-export-\d{4}-\d{2}-\d{2}\.zip$/);
    const raw = new Uint8Array(file.fileData);
    const entries = unzipSync(raw);
    expect(Object.keys(entries)).toEqual(
      expect.arrayContaining(["answers_long.csv", "scores_wide.csv", "codebook.json"]),
    );
    expect(await tb.db.auditEvent.count({ where: { action: "export" } })).toBe(1);
    expect(tb.tg.rejections).toEqual([]);
  });

  it("are refused to a parent", async () => {
    const p = await enrol("parent", 901);
    for (const cmd of ["/progress", "/report social-skills", "/export"]) {
      await p.send(cmd);
      expect(p.last().text).toMatch(/not available for your role/);
    }
    expect(tb.tg.callsOf("sendDocument")).toHaveLength(0);
    expect(tb.tg.callsOf("sendPhoto")).toHaveLength(0);
  });
});
