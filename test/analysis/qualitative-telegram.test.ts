// The whole path in Telegram: a facilitator writes a note and an interview through the bot (with a
// nickname for the child), a researcher asks `/report codes` and gets the counts, suppressed, with
// no excerpt, no nickname, no Telegram id and no document; the CLI's JSON has the redacted text;
// the effect report's HTML document carries the code-summary section.
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { facilitatorFeature } from "../../src/telegram/features/facilitator.js";
import { researcherFeature } from "../../src/telegram/features/researcher.js";
import { createInvite } from "../../src/usecases/invites.js";
import { importAnswers } from "../../src/usecases/import.js";
import type { CodeReport } from "../../src/analysis/qualitative.js";
import { makeTestBot, shippedFlows, type TestBot } from "../support/bot.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";
import type { FakeUser } from "../support/fake-telegram.js";
import { consentedFamily, facilitatorFor, group, NOW } from "../telegram/facilitator-support.js";

const FACILITATOR_ID = 731904552;
const PARENT_ID = 598812734;
const RESEARCHER_ID = 662301957;
const NICKNAME = "Mia";

let tmp: TempDb;
let tb: TestBot;

beforeEach(async () => {
  tmp = await tempDatabase();
  tb = makeTestBot(tmp.db, tmp.url, {
    now: () => NOW,
    features: [facilitatorFeature, researcherFeature],
  });
});
afterEach(async () => {
  await tb.db.$disconnect();
  await tmp.cleanup();
});

async function researcher(): Promise<FakeUser> {
  const { code } = await createInvite(
    tb.db,
    { role: "researcher", ttlHours: 1 },
    { kind: "cli" },
    NOW,
  );
  const r = tb.user(RESEARCHER_ID);
  await r.send(`/start ${code}`);
  return r;
}

/** A note and an interview on P01 through the bot, the nickname typed into both texts. */
async function writeNotes(): Promise<FakeUser> {
  await group(tb, "A");
  await consentedFamily(tb, "P01", PARENT_ID, "A", { finishPre: false });
  const fac = await facilitatorFor(tb, FACILITATOR_ID, "A");
  await fac.send(`/nickname P01 ${NICKNAME}`);
  await fac.send(`/note P01 ${NICKNAME} shared her crayons`);
  await fac.press("⬜ Peer support");
  await fac.press("⬜ Humour and play");
  await fac.press(/^💾 Save/);
  expect(fac.last().text).toMatch(/Saved the note/);
  await fac.send(`/interview P01 ${NICKNAME} talked about 化疗`);
  await fac.press("⬜ Talking about illness or treatment");
  await fac.press(/^💾 Save/);
  return fac;
}

describe("/report codes", () => {
  it("shows the counts suppressed, without excerpts, nicknames or ids", async () => {
    await writeNotes();
    const r = await researcher();
    await r.send("/report codes");
    const msgs = r.messages().map((m) => m.text);
    const report = msgs.find((t) => t.startsWith("Qualitative codes"))!;
    expect(report).toBeDefined();
    expect(report).toContain("<5 notes and interviews on <5 children");
    const row = report.split("\n").find((l) => l.startsWith("Peer support"))!;
    // smallCell 5: one note on one child is "<5".
    expect(row.split(/\s{2,}/)).toEqual(["Peer support", "<5", "0", "<5", "<5"]);
    for (const text of msgs) {
      expect(text).not.toContain(NICKNAME);
      expect(text).not.toContain("crayons");
      expect(text).not.toContain("化疗");
      for (const id of [FACILITATOR_ID, PARENT_ID, RESEARCHER_ID])
        expect(text).not.toContain(String(id));
    }
    expect(tb.tg.callsOf("sendDocument")).toHaveLength(0);
    expect(tb.tg.rejections).toEqual([]);

    // The server side has the texts, redacted, for the research team.
    const cli = await runCircle(tmp.url, ["report", "--codes", "--json"]);
    const json = JSON.parse(cli.out) as CodeReport;
    const peer = json.codes.find((c) => c.id === "peer_support")!;
    expect(peer.excerpts.map((e) => [e.participant, e.kind, e.text])).toEqual([
      ["P01", "note", "[P01] shared her crayons"],
    ]);
    const illness = json.codes.find((c) => c.id === "illness_talk")!;
    expect(illness.excerpts[0]).toMatchObject({
      kind: "interview",
      text: "[P01] talked about 化疗",
    });
    expect(json.cooccurrence.segments[0]![json.cooccurrence.codes.indexOf("humour")]).toBe(1);
    expect(cli.out).not.toContain(NICKNAME);
  });

  it("is refused to a facilitator, and the usage names it", async () => {
    const fac = await writeNotes();
    await fac.send("/report codes");
    expect(fac.last().text).toMatch(/not available for your role/);
    const r = await researcher();
    await r.send("/report");
    expect(r.last().text).toContain("/report codes");
  });

  it("adds the code summary to the effect report's HTML document", async () => {
    const imported = await importAnswers(
      tb.db,
      shippedFlows(),
      readFileSync("test/fixtures/report/answers.csv", "utf8"),
      { file: "answers.csv", actor: { kind: "cli" } },
    );
    expect(imported.ok).toBe(true);
    await writeNotes();
    const r = await researcher();
    await r.send("/report social-skills");
    const doc = tb.tg.callsOf("sendDocument").at(-1)!;
    const file = doc.payload.document as unknown as { filename: string; fileData: Uint8Array };
    const html = new TextDecoder().decode(new Uint8Array(file.fileData));
    expect(html).toContain("<h2>Qualitative codes</h2>");
    expect(html).toContain("<th>Peer support</th><td>&lt;5</td>");
    expect(html).not.toContain("crayons");
    expect(html).not.toContain(NICKNAME);
  }, 60_000);
});
