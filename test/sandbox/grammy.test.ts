// A real grammY bot, unchanged except for its apiRoot, talking to the sandbox: long polling with
// bot.start(), the @grammyjs/runner, and a webhook with grammY's secret-token check.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { run, sequentialize } from "@grammyjs/runner";
import { Resvg } from "@resvg/resvg-js";
import { Bot, InlineKeyboard, InputFile, webhookCallback } from "grammy";
import { describe, expect, it } from "vitest";
import { escapeHtml } from "../../src/sandbox/index.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { sandbox } from "./helpers.js";

/** The bot under test: a tiny flow with a keyboard, edits, files and commands. */
function circleLikeBot(box: Sandbox, options: { sequential?: boolean } = {}): Bot {
  const bot = new Bot(box.token, { client: { apiRoot: box.apiRoot } });
  // Production installs sequentialize before any state-reading middleware.
  if (options.sequential) bot.use(sequentialize((ctx) => String(ctx.chat?.id ?? "")));
  bot.command("start", async (ctx) => {
    await ctx.api.setMyCommands([{ command: "start", description: "Begin" }]);
    await ctx.reply(`Welcome, <b>${escapeHtml(ctx.from?.first_name ?? "")}</b>! Ready?`, {
      parse_mode: "HTML",
      reply_markup: new InlineKeyboard().text("Yes", "ready:yes").text("Not now", "ready:no"),
    });
  });
  bot.callbackQuery("ready:yes", async (ctx) => {
    await ctx.answerCallbackQuery({ text: "Great" });
    await ctx.editMessageText("You are in. Here is your <i>plan</i>:", { parse_mode: "HTML" });
    await ctx.replyWithDocument(
      new InputFile(Buffer.from("session,date\n1,2025-01-01\n"), "plan.csv"),
      {
        caption: "Plan",
      },
    );
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="#48c"/></svg>`;
    await ctx.replyWithPhoto(new InputFile(Buffer.from(new Resvg(svg).render().asPng())));
  });
  bot.on("callback_query:data", (ctx) => ctx.answerCallbackQuery());
  bot.on("message:text", (ctx) =>
    ctx.reply(`You said: ${escapeHtml(ctx.msg.text)}`, { parse_mode: "HTML" }),
  );
  return bot;
}

async function playScript(box: Sandbox): Promise<void> {
  const ada = box.createUser({ firstName: "Ada <3", languageCode: "en" });
  ada.sendText("/start");
  const welcome = await ada.waitForBotMessage();
  expect(welcome.text).toBe("Welcome, Ada <3! Ready?");
  expect(welcome.entities).toEqual([{ type: "bold", offset: 9, length: 6 }]);
  expect(welcome.buttons).toEqual([["Yes", "Not now"]]);

  const pressed = ada.press(welcome, "Yes");
  expect(await pressed.waitForAnswer()).toMatchObject({ text: "Great", showAlert: false });
  await ada.waitForBotMessage((m) => m.kind === "photo");
  const [first, plan, chart] = ada.botMessages();
  expect(first).toMatchObject({
    text: "You are in. Here is your plan:",
    buttons: [],
    editCount: 1,
  });
  expect(plan?.document).toMatchObject({ fileName: "plan.csv", mimeType: "text/csv" });
  expect(plan?.document?.data?.toString()).toContain("session,date");
  expect(plan?.caption).toBe("Plan");
  expect(chart?.photo).toMatchObject({ width: 300, height: 200 });

  ada.sendText("a < b & c");
  expect((await ada.waitForBotMessage()).text).toBe("You said: a < b & c");
  expect(box.botCommands()).toEqual([{ command: "start", description: "Begin" }]);
  expect(ada.transcript()).toEqual([
    "user: /start",
    "bot: You are in. Here is your plan: (edited ×1)",
    'user pressed "Yes" → toast "Great"',
    "bot: [document plan.csv, 26 B] Plan",
    "bot: [photo 300×200]",
    "user: a < b & c",
    "bot: You said: a < b & c",
  ]);
  expect(box.rejections).toEqual([]);
}

describe("grammY against the sandbox", () => {
  it("works with bot.start() long polling", async () => {
    const box = await sandbox();
    const bot = circleLikeBot(box);
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const polling = bot.start({ onStart: () => started() });
    await ready;
    await playScript(box);
    await bot.stop();
    await polling;
    const methods = new Set(box.calls.map((c) => c.method));
    expect(methods).toEqual(
      new Set([
        "getMe",
        "deleteWebhook",
        "getUpdates",
        "setMyCommands",
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
        "sendDocument",
        "sendPhoto",
      ]),
    );
  });

  it("works with @grammyjs/runner", async () => {
    const box = await sandbox();
    const bot = circleLikeBot(box, { sequential: true });
    await bot.init();
    const runner = run(bot);
    await playScript(box);
    await runner.stop();
  });

  it("works with a webhook and grammY's secret-token check", async () => {
    const box = await sandbox();
    const bot = circleLikeBot(box);
    await bot.init();
    const handle = webhookCallback(bot, "http", { secretToken: "hook-secret" });
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      await bot.api.setWebhook(url, { secret_token: "hook-secret" });
      await playScript(box);
    } finally {
      server.close();
    }
  });
});
