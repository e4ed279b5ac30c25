// The remaining methods: getMe, commands by scope and language, chat actions, menu button,
// close/logOut, and how requests may be shaped (GET, query string, method-name case).
import { describe, expect, it } from "vitest";
import { call, sandbox, startedUser, TOKEN } from "./helpers.js";

describe("other methods", () => {
  it("getMe describes the bot from the token and options", async () => {
    const box = await sandbox({ botUsername: "test_circle_bot" });
    const me = await fetch(`${box.apiRoot}/bot${TOKEN}/getme`); // GET, any case
    expect(await me.json()).toMatchObject({
      ok: true,
      result: { id: 424242, is_bot: true, username: "test_circle_bot", can_join_groups: true },
    });
  });

  it("keeps commands per scope and language, exactly like getMyCommands", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const staff = [{ command: "report", description: "Session report" }];
    const general = [{ command: "start", description: "Begin" }];
    await call(box, "setMyCommands", { commands: general });
    await call(box, "setMyCommands", { commands: general, language_code: "de" });
    await call(box, "setMyCommands", {
      commands: staff,
      scope: { type: "chat", chat_id: ada.chatId },
    });
    expect(box.botCommands()).toEqual(general);
    expect(box.botCommands({ type: "chat", chat_id: ada.chatId })).toEqual(staff);
    expect((await call(box, "getMyCommands", { language_code: "de" })).body.result).toEqual(
      general,
    );
    expect(
      (await call(box, "getMyCommands", { scope: { type: "all_private_chats" } })).body.result,
    ).toEqual([]);
    await call(box, "deleteMyCommands", { scope: { type: "chat", chat_id: ada.chatId } });
    expect(box.botCommands({ type: "chat", chat_id: ada.chatId })).toEqual([]);

    const bad = await call(box, "setMyCommands", {
      commands: [{ command: "Start!", description: "x" }],
    });
    expect(bad.body.description).toBe("Bad Request: BOT_COMMAND_INVALID");
    const noDescription = await call(box, "setMyCommands", {
      commands: [{ command: "start", description: "" }],
    });
    expect(noDescription.body.description).toBe("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
    const unknownChat = await call(box, "setMyCommands", {
      commands: general,
      scope: { type: "chat", chat_id: 1 },
    });
    expect(unknownChat.body.description).toBe("Bad Request: chat not found");
  });

  it("accepts chat actions, menu buttons, close and logOut", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    expect(
      (await call(box, "sendChatAction", { chat_id: ada.chatId, action: "typing" })).body.result,
    ).toBe(true);
    expect(box.state.chats.get(ada.chatId)?.lastChatAction).toBe("typing");
    const wrong = await call(box, "sendChatAction", { chat_id: ada.chatId, action: "dancing" });
    expect(wrong.body.description).toBe("Bad Request: wrong parameter action in request");
    expect(
      (
        await call(box, "setChatMenuButton", {
          chat_id: ada.chatId,
          menu_button: { type: "commands" },
        })
      ).body,
    ).toEqual({ ok: true, result: true });
    expect((await call(box, "getChatMenuButton", { chat_id: ada.chatId })).body.result).toEqual({
      type: "commands",
    });
    expect((await call(box, "close")).body).toEqual({ ok: true, result: true });
    expect((await call(box, "logOut")).body).toEqual({ ok: true, result: true });
  });

  it("reads parameters from the query string and records every call", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const query = new URLSearchParams({ chat_id: String(ada.chatId), text: "via GET" });
    const reply = await fetch(`${box.apiRoot}/bot${TOKEN}/sendMessage?${query}`);
    expect(reply.status).toBe(200);
    expect(ada.lastBotMessage()?.text).toBe("via GET");
    expect(box.calls.at(-1)).toMatchObject({
      method: "sendMessage",
      params: { chat_id: String(ada.chatId), text: "via GET" },
      outcome: { ok: true },
    });
  });

  it("keeps link_preview_options and reply_to_message on sent messages", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const reply = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "See https://example.org",
      link_preview_options: { is_disabled: true },
      reply_parameters: { message_id: 1 },
    });
    expect(reply.body.result).toMatchObject({
      link_preview_options: { is_disabled: true },
      reply_to_message: { message_id: 1, text: "/start" },
    });
    const missing = await call(box, "sendMessage", {
      chat_id: ada.chatId,
      text: "x",
      reply_parameters: { message_id: 99 },
    });
    expect(missing.body.description).toBe("Bad Request: message to be replied not found");
  });
});
