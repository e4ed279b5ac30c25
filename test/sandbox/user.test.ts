// The scripted user and raw updates: what the bot receives, and the chat as the user sees it.
import type { Update } from "grammy/types";
import { describe, expect, it } from "vitest";
import { commandEntities } from "../../src/sandbox/index.js";
import { call, sandbox, startedUser } from "./helpers.js";

const updates = async (box: Awaited<ReturnType<typeof sandbox>>) =>
  (await call(box, "getUpdates", {})).body.result as Update[];

describe("scripted user", () => {
  it("marks commands with bot_command entities like Telegram", () => {
    expect(commandEntities("/start")).toEqual([{ type: "bot_command", offset: 0, length: 6 }]);
    expect(commandEntities("/start@circle_sandbox_bot abc")).toEqual([
      { type: "bot_command", offset: 0, length: 25 },
    ]);
    expect(commandEntities("see /help now")).toEqual([
      { type: "bot_command", offset: 4, length: 5 },
    ]);
    expect(commandEntities("a/b and x/start")).toEqual([]);
  });

  it("sends messages the bot receives as Telegram updates", async () => {
    const box = await sandbox();
    const ada = box.createUser({
      firstName: "Ada",
      lastName: "L",
      username: "ada_l",
      languageCode: "de",
    });
    ada.sendText("/start");
    ada.sendSticker({ emoji: "🎉" });
    ada.sendPhoto({ caption: "drawing" });
    ada.sendVoice({ duration: 4 });
    ada.editLastText("/start again");
    const received = await updates(box);
    const [text, sticker, photo, voice, edited] = received;
    expect(text?.message).toMatchObject({
      message_id: 1,
      text: "/start",
      entities: [{ type: "bot_command", offset: 0, length: 6 }],
      from: {
        id: ada.id,
        is_bot: false,
        first_name: "Ada",
        last_name: "L",
        username: "ada_l",
        language_code: "de",
      },
      chat: { id: ada.id, type: "private", first_name: "Ada", last_name: "L", username: "ada_l" },
    });
    expect(sticker?.message?.sticker?.emoji).toBe("🎉");
    expect(photo?.message?.photo?.at(-1)?.width).toBeGreaterThan(0);
    expect(photo?.message?.caption).toBe("drawing");
    expect(voice?.message?.voice?.duration).toBe(4);
    expect(edited?.edited_message).toMatchObject({ message_id: 1, text: "/start again" });
    expect(edited?.edited_message?.edit_date).toBeTypeOf("number");
    expect(new Set(received.map((u) => u.update_id)).size).toBe(5);
  });

  it("presses a button of the message as the bot last rendered it", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const sent = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "Q1",
      reply_markup: { inline_keyboard: [[{ text: "Agree", callback_data: "q1:agree" }]] },
    });
    const id = (sent.body.result as { message_id: number }).message_id;
    await call(box, "editMessageText", {
      chat_id: ada.chatId,
      message_id: id,
      text: "Q1 (reminder)",
      reply_markup: { inline_keyboard: [[{ text: "Agree", callback_data: "q1:agree:v2" }]] },
    });
    await updates(box); // the /start
    const pressed = ada.press(id, /^Agr/);
    const again = ada.press(ada.lastBotMessage()!, (b) => b.text === "Agree");
    const [first, second] = (await call(box, "getUpdates", { offset: -2 })).body.result as Update[];
    expect(first?.callback_query).toMatchObject({
      id: pressed.queryId,
      from: { id: ada.id },
      data: "q1:agree:v2",
      message: {
        message_id: id,
        text: "Q1 (reminder)",
        from: { is_bot: true },
        edit_date: expect.any(Number),
      },
    });
    expect(typeof first?.callback_query?.chat_instance).toBe("string");
    expect(second?.callback_query?.chat_instance).toBe(first?.callback_query?.chat_instance);
    expect(second?.callback_query?.id).not.toBe(first?.callback_query?.id);
    expect(again.answer()).toBeUndefined();
  });

  it("refuses impossible presses", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const sent = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "Links",
      reply_markup: { inline_keyboard: [[{ text: "Site", url: "https://example.org" }]] },
    });
    const id = (sent.body.result as { message_id: number }).message_id;
    expect(() => ada.press(id, "Missing")).toThrow(/no button "Missing".*"Site"/);
    expect(() => ada.press(id, "Site")).toThrow(/does not send a callback query/);
    await call(box, "deleteMessage", { chat_id: ada.chatId, message_id: id });
    expect(() => ada.press(id, "Site")).toThrow(/not in the chat/);
  });

  it("shows the chat as it is now: edits applied, deletions gone, keyboards tracked", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const one = await call(box, "sendMessage", { chat_id: ada.chatId, text: "one" });
    await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "two",
      reply_markup: { keyboard: [["Mon", "Tue"]], one_time_keyboard: true },
    });
    expect(ada.replyKeyboard()?.keyboard).toEqual([[{ text: "Mon" }, { text: "Tue" }]]);
    const oneId = (one.body.result as { message_id: number }).message_id;
    await call(box, "editMessageText", {
      chat_id: ada.chatId,
      message_id: oneId,
      text: "one, edited",
    });
    await call(box, "editMessageText", {
      chat_id: ada.chatId,
      message_id: oneId,
      text: "one, again",
    });
    await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "three",
      reply_markup: { remove_keyboard: true },
    });
    expect(ada.replyKeyboard()).toBeUndefined();
    await call(box, "deleteMessage", { chat_id: ada.chatId, message_id: oneId + 1 });
    expect(ada.messages().map((m) => [m.from, m.text, m.editCount])).toEqual([
      ["user", "/start", 0],
      ["bot", "one, again", 2],
      ["bot", "three", 0],
    ]);
    expect(ada.transcript()).toContain("bot: two (deleted)");
  });

  it("waits for successive bot messages and times out with the chat so far", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const waiting = ada.waitForBotMessage();
    await call(box, "sendMessage", { chat_id: ada.chatId, text: "first" });
    await call(box, "sendMessage", { chat_id: ada.chatId, text: "second" });
    expect((await waiting).text).toBe("first");
    expect((await ada.waitForBotMessage()).text).toBe("second");
    await expect(ada.waitForBotMessage(undefined, 50)).rejects.toThrow(
      /timed out after 50 ms[\s\S]*bot: second/,
    );
  });

  it("blocking sends my_chat_member updates and stops the user from writing", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    ada.block();
    expect(() => ada.sendText("hi")).toThrow(/blocked the bot/);
    ada.unblock();
    const received = await updates(box);
    expect(received.map((u) => u.my_chat_member?.new_chat_member.status).filter(Boolean)).toEqual([
      "kicked",
      "member",
    ]);
  });
});

describe("pushUpdate", () => {
  it("completes and stores group, channel and edited messages so the bot can answer", async () => {
    const box = await sandbox();
    const ada = box.createUser({ firstName: "Ada" });
    const group = box.createChat({ type: "supergroup", title: "Parents" });
    const channel = box.createChat({ type: "channel", title: "News", username: "circle_news" });
    const posted = box.pushUpdate({
      message: { chat: group, from: ada.user, text: "hello group" } as never,
    });
    box.pushUpdate({ channel_post: { chat: channel, text: "news" } as never });
    box.pushUpdate({
      edited_message: {
        message_id: posted?.message?.message_id,
        chat: group,
        from: ada.user,
        text: "hello, group",
      } as never,
    });
    const received = await updates(box);
    expect(received.map((u) => Object.keys(u).find((k) => k !== "update_id"))).toEqual([
      "message",
      "channel_post",
      "edited_message",
    ]);
    expect(received[0]?.message).toMatchObject({
      message_id: 1,
      chat: { id: group.id, type: "supergroup" },
    });
    expect(String(group.id)).toMatch(/^-100\d+$/);
    expect(received[2]?.edited_message?.text).toBe("hello, group");

    const reply = await call(box, "sendMessage", {
      chat_id: group.id,
      text: "hi all",
      reply_parameters: { message_id: 1 },
    });
    expect(reply.body.result).toMatchObject({
      message_id: 2,
      reply_to_message: { text: "hello, group" },
    });
    const byName = await call(box, "sendMessage", { chat_id: "@circle_news", text: "posted" });
    expect(byName.body.ok).toBe(true);
  });

  it("registers raw callback queries so the bot can answer them", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const sent = await call(box, "sendMessage", { chat_id: ada.chatId, text: "Hi" });
    box.pushUpdate({
      callback_query: {
        id: "777",
        from: ada.user,
        message: sent.body.result,
        chat_instance: "1",
        data: "forged",
      } as never,
    });
    expect((await call(box, "answerCallbackQuery", { callback_query_id: "777" })).body.ok).toBe(
      true,
    );
    expect(ada.transcript().at(-1)).toBe('user pressed "forged"');
  });
});
