// A typed answer counts only for a question that is on screen: after a crash between saving one
// answer and showing the next question, the re-typed answer must not land on the next item.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import type { TestBot } from "../support/bot.js";
import {
  consentedFamily,
  facilitatorBot,
  facilitatorFor,
  group,
  withButton,
} from "./facilitator-support.js";

let tmp: TempDb;
let tb: TestBot;
beforeEach(async () => {
  tmp = await tempDatabase();
  tb = facilitatorBot(tmp.db, tmp.url);
});
afterEach(async () => {
  await tb.db.$disconnect();
  await tmp.cleanup();
});

describe("typed answers", () => {
  it("are not applied to a question that was never shown", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 701, "A");
    const fac = await facilitatorFor(tb, 702, "A");
    await fac.send("/session");
    await fac.press(/^▶ Session/);
    await fac.press(/^Today/);
    await fac.press((t) => t.startsWith("⬜") && t.includes("P01"));
    await fac.press(/^Done/);
    await fac.press("⏭ Skip this child", withButton(fac, "⏭ Skip this child"));
    // Reflection: three ratings, then the typed prompts.
    for (let i = 0; i < 3; i++) await fac.press((t) => !/Back|Pause|Skip/.test(t));
    expect(fac.current().text).toMatch(/4\/7/);
    await fac.send("The children shared well.");
    expect(fac.current().text).toMatch(/5\/7/);
    // Simulate the crash window: the answer to 4/7 was saved but 5/7 was never shown.
    await tb.db.$executeRawUnsafe(
      `UPDATE "ConversationState" SET "messageId" = NULL WHERE "kind" = 'questionnaire'`,
    );
    const answersBefore = await tb.db.answer.count();
    await fac.send("The children shared well.");
    expect(await tb.db.answer.count()).toBe(answersBefore);
    // The question is shown again, and an answer typed now counts for it.
    expect(fac.current().text).toMatch(/5\/7/);
    await fac.send("One child was tired.");
    expect(await tb.db.answer.count()).toBe(answersBefore + 1);
  });
});
