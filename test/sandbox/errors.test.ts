// Each error the issue lists, provoked over plain HTTP, with Telegram's status, shape and text.
import { describe, expect, it } from "vitest";
import { call, sandbox, startedUser } from "./helpers.js";

const keyboard = (...buttons: Record<string, unknown>[]) => ({ inline_keyboard: [buttons] });

describe("sandbox errors", () => {
  it("answers a wrong token with 401 Unauthorized", async () => {
    const box = await sandbox();
    const reply = await call(box, "getMe", {}, "1:WRONG");
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ ok: false, error_code: 401, description: "Unauthorized" });
  });

  it("answers an unknown method with 404 Not Found", async () => {
    const box = await sandbox();
    const reply = await call(box, "sendTelepathy", {});
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ ok: false, error_code: 404, description: "Not Found" });
  });

  it("rejects an empty text", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const reply = await call(box, "sendMessage", { chat_id: ada.chatId, text: "" });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: message text is empty",
    });
    expect(box.rejections).toMatchObject([
      { method: "sendMessage", code: 400, injected: false, params: { text: "" } },
    ]);
  });

  it("rejects a text that is only markup or whitespace after parsing", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const reply = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "<b> </b>",
      parse_mode: "HTML",
    });
    expect(reply.body.description).toBe("Bad Request: message must be non-empty");
  });

  it("rejects text over 4096 UTF-16 code units after entity parsing", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const exactly = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: `<b>${"x".repeat(4096)}</b>`,
      parse_mode: "HTML",
    });
    expect(exactly.body.ok).toBe(true);
    // 2048 emoji are 4096 UTF-16 units: fine; one more is too long.
    const emoji = await call(box, "sendMessage", { chat_id: ada.chatId, text: "😀".repeat(2048) });
    expect(emoji.body.ok).toBe(true);
    const tooLong = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "😀".repeat(2049),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.description).toBe("Bad Request: message is too long");
  });

  it("rejects a caption over 1024 characters", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const form = new FormData();
    form.set("chat_id", String(ada.chatId));
    form.set("caption", "c".repeat(1025));
    form.set("document", new Blob([Buffer.from("hello")]), "a.txt");
    const response = await fetch(`${box.apiRoot}/bot${box.token}/sendDocument`, {
      method: "POST",
      body: form,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      description: "Bad Request: message caption is too long",
    });
  });

  it("rejects callback_data over 64 bytes (bytes, not characters)", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const send = (data: string) =>
      call(box, "sendMessage", {
        chat_id: ada.chatId,
        text: "Pick",
        reply_markup: keyboard({ text: "A", callback_data: data }),
      });
    expect((await send("é".repeat(32))).body.ok).toBe(true); // 64 bytes
    const tooLong = await send("é".repeat(33)); // 66 bytes, 33 characters
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.description).toBe("Bad Request: BUTTON_DATA_INVALID");
  });

  it("rejects inline buttons without exactly one action", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const none = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "Pick",
      reply_markup: keyboard({ text: "A" }),
    });
    expect(none.body.description).toBe(
      "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    );
    const emptyData = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "Pick",
      reply_markup: keyboard({ text: "A", callback_data: "" }),
    });
    expect(emptyData.body.description).toBe(none.body.description);
    const two = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "Pick",
      reply_markup: keyboard({ text: "A", callback_data: "a", url: "https://example.org" }),
    });
    expect(two.status).toBe(400);
    expect(two.body.description).toMatch(/^Bad Request: can't parse inline keyboard button: /);
  });

  it.each([
    ["<b>bold", "Can't find end tag corresponding to start tag b"],
    ["<p>para</p>", 'Unsupported start tag "p" at byte offset 0'],
    ["1 < 2", 'Unsupported start tag "" at byte offset 2'],
    ["<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
    ["x</b>", "Unexpected end tag at byte offset 1"],
    ["Tom & Jerry", 'Unescaped "&" at byte offset 4 (sandbox strict mode; use &amp;)'],
    ["é <x>", 'Unsupported start tag "x" at byte offset 3'],
    ['<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
  ])("rejects malformed HTML %j", async (text, detail) => {
    const box = await sandbox();
    const ada = startedUser(box);
    const reply = await call(box, "sendMessage", { chat_id: ada.chatId, text, parse_mode: "HTML" });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      ok: false,
      error_code: 400,
      description: `Bad Request: can't parse entities: ${detail}`,
    });
  });

  it("answers an edit with identical text and markup with 'message is not modified'", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const markup = keyboard({ text: "Yes", callback_data: "yes" });
    const sent = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "<b>Ready?</b>",
      parse_mode: "HTML",
      reply_markup: markup,
    });
    const messageId = (sent.body.result as { message_id: number }).message_id;
    const same = await call(box, "editMessageText", {
      chat_id: ada.chatId,
      message_id: messageId,
      text: "<b>Ready?</b>",
      parse_mode: "HTML",
      reply_markup: markup,
    });
    expect(same.status).toBe(400);
    expect(same.body.description).toBe(
      "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    );
    const sameMarkupOnly = await call(box, "editMessageReplyMarkup", {
      chat_id: ada.chatId,
      message_id: messageId,
      reply_markup: markup,
    });
    expect(sameMarkupOnly.body.description).toBe(same.body.description);
    // Same text but no keyboard: Telegram removes the keyboard, so that is a modification.
    const dropsKeyboard = await call(box, "editMessageText", {
      chat_id: ada.chatId,
      message_id: messageId,
      text: "<b>Ready?</b>",
      parse_mode: "HTML",
    });
    expect(dropsKeyboard.body.ok).toBe(true);
    expect(ada.lastBotMessage()?.buttons).toEqual([]);
  });

  it("answers an edit of an unknown message with 'message to edit not found'", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const reply = await call(box, "editMessageText", {
      chat_id: ada.chatId,
      message_id: 999,
      text: "new",
    });
    expect(reply.status).toBe(400);
    expect(reply.body.description).toBe("Bad Request: message to edit not found");
    const deleted = await call(box, "deleteMessage", { chat_id: ada.chatId, message_id: 999 });
    expect(deleted.body.description).toBe("Bad Request: message to delete not found");
  });

  it("rejects answering a callback query twice, or an unknown one", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const sent = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "Pick",
      reply_markup: keyboard({ text: "A", callback_data: "a" }),
    });
    const pressed = ada.press((sent.body.result as { message_id: number }).message_id, "A");
    const first = await call(box, "answerCallbackQuery", {
      callback_query_id: pressed.queryId,
      text: "Saved",
    });
    expect(first.body).toEqual({ ok: true, result: true });
    const tooOld =
      "Bad Request: query is too old and response timeout expired or query ID is invalid";
    const second = await call(box, "answerCallbackQuery", { callback_query_id: pressed.queryId });
    expect(second.status).toBe(400);
    expect(second.body.description).toBe(tooOld);
    const unknown = await call(box, "answerCallbackQuery", { callback_query_id: "12345" });
    expect(unknown.body.description).toBe(tooOld);
    expect(pressed.answer()).toMatchObject({ text: "Saved", showAlert: false });
  });

  it("answers a send to a user who blocked the bot with 403", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    box.block(ada.id);
    const reply = await call(box, "sendMessage", { chat_id: ada.chatId, text: "Hello" });
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({
      ok: false,
      error_code: 403,
      description: "Forbidden: bot was blocked by the user",
    });
    const action = await call(box, "sendChatAction", { chat_id: ada.chatId, action: "typing" });
    expect(action.status).toBe(403);
    box.unblock(ada.id);
    expect((await call(box, "sendMessage", { chat_id: ada.chatId, text: "Hello" })).body.ok).toBe(
      true,
    );
  });

  it("answers a send to a user who never wrote to the bot with 403", async () => {
    const box = await sandbox();
    const silent = box.createUser({ firstName: "Bea" });
    const reply = await call(box, "sendMessage", { chat_id: silent.chatId, text: "Hello" });
    expect(reply.status).toBe(403);
    expect(reply.body.description).toBe("Forbidden: bot can't initiate conversation with a user");
  });

  it("answers an unknown chat with 'chat not found'", async () => {
    const box = await sandbox();
    const reply = await call(box, "sendMessage", { chat_id: 55555, text: "Hello" });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: chat not found",
    });
  });

  it("injects 429 with retry_after, marked as injected", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    box.failNext("sendMessage", { code: 429, retryAfter: 7 });
    const limited = await call(box, "sendMessage", { chat_id: ada.chatId, text: "Hello" });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      ok: false,
      error_code: 429,
      description: "Too Many Requests: retry after 7",
      parameters: { retry_after: 7 },
    });
    const next = await call(box, "sendMessage", { chat_id: ada.chatId, text: "Hello" });
    expect(next.body.ok).toBe(true);
    expect(box.rejections).toMatchObject([{ method: "sendMessage", code: 429, injected: true }]);
    expect(ada.botMessages()).toHaveLength(1);
  });

  it("injects 500 and 502 for a number of calls, and drops connections", async () => {
    const box = await sandbox();
    box.failNext("getMe", { code: 502 }, 2);
    box.failNext("getMe", { code: 500 });
    expect((await call(box, "getMe")).body).toEqual({
      ok: false,
      error_code: 502,
      description: "Bad Gateway",
    });
    expect((await call(box, "getMe")).status).toBe(502);
    expect((await call(box, "getMe")).body.description).toBe("Internal Server Error");
    expect((await call(box, "getMe")).body.ok).toBe(true);

    box.failNext("getMe", { drop: true });
    await expect(call(box, "getMe")).rejects.toThrow();
    expect(box.rejections.map((r) => [r.code, r.injected])).toEqual([
      [502, true],
      [502, true],
      [500, true],
      [0, true],
    ]);
  });

  it("with drop-after, performs the call but loses the response", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    box.failNext("sendMessage", { drop: true, after: true });
    await expect(
      call(box, "sendMessage", { chat_id: ada.chatId, text: "Hello" }),
    ).rejects.toThrow();
    expect(ada.botMessages().map((m) => m.text)).toEqual(["Hello"]);
  });
});
