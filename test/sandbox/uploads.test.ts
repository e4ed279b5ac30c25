// multipart/form-data uploads: sendDocument and sendPhoto round trips, attach:// references,
// form-urlencoded bodies, and the multipart parser on grammY's header style.
import { Resvg } from "@resvg/resvg-js";
import type { Message } from "grammy/types";
import { describe, expect, it } from "vitest";
import { parseMultipart } from "../../src/sandbox/multipart.js";
import { call, sandbox, startedUser } from "./helpers.js";

function png(width: number, height: number): Buffer {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#3a7"/></svg>`;
  return Buffer.from(new Resvg(svg).render().asPng());
}

async function upload(apiRoot: string, token: string, method: string, form: FormData) {
  const response = await fetch(`${apiRoot}/bot${token}/${method}`, { method: "POST", body: form });
  return {
    status: response.status,
    body: (await response.json()) as { ok: boolean; result: Message; description?: string },
  };
}

describe("uploads", () => {
  it("round-trips a document: metadata in the message, bytes via getFile", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const content = Buffer.from("participant,score\nP01,42\n");
    const form = new FormData();
    form.set("chat_id", String(ada.chatId));
    form.set("caption", "<b>Report</b> for session 3");
    form.set("parse_mode", "HTML");
    form.set(
      "reply_markup",
      JSON.stringify({ inline_keyboard: [[{ text: "OK", callback_data: "ok" }]] }),
    );
    form.set("document", new Blob([content]), "report.csv");

    const reply = await upload(box.apiRoot, box.token, "sendDocument", form);
    expect(reply.status).toBe(200);
    const message = reply.body.result;
    expect(message.document).toMatchObject({
      file_name: "report.csv",
      mime_type: "text/csv",
      file_size: content.length,
    });
    expect(message.caption).toBe("Report for session 3");
    expect(message.caption_entities).toEqual([{ type: "bold", offset: 0, length: 6 }]);

    const seen = ada.lastBotMessage();
    expect(seen?.document?.data?.equals(content)).toBe(true);
    expect(seen?.buttons).toEqual([["OK"]]);
    expect(box.calls.at(-1)?.params.document).toEqual({
      filename: "report.csv",
      size: content.length,
    });

    const file = await call(box, "getFile", { file_id: message.document?.file_id });
    const path = (file.body.result as { file_path: string }).file_path;
    const download = await fetch(`${box.apiRoot}/file/bot${box.token}/${path}`);
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);

    // Re-sending by file_id needs no upload.
    const again = await call(box, "sendDocument", {
      chat_id: ada.chatId,
      document: message.document?.file_id,
    });
    expect((again.body.result as Message).document?.file_id).toBe(message.document?.file_id);
  });

  it("round-trips a photo referenced as attach://, with its real dimensions", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const image = png(640, 360);
    const form = new FormData();
    form.set("chat_id", String(ada.chatId));
    form.set("photo", "attach://chart");
    form.set("chart", new Blob([image]), "chart.png");
    const reply = await upload(box.apiRoot, box.token, "sendPhoto", form);
    expect(reply.status).toBe(200);
    expect(reply.body.result.photo?.at(-1)).toMatchObject({
      width: 640,
      height: 360,
      file_size: image.length,
    });
    expect(ada.lastBotMessage()?.photo).toMatchObject({ width: 640, height: 360 });
    expect(ada.lastBotMessage()?.photo?.data?.equals(image)).toBe(true);
  });

  it("refuses photos that are not images or are too elongated, and missing files", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const notImage = new FormData();
    notImage.set("chat_id", String(ada.chatId));
    notImage.set("photo", new Blob([Buffer.from("not a picture")]), "x.png");
    expect((await upload(box.apiRoot, box.token, "sendPhoto", notImage)).body.description).toBe(
      "Bad Request: IMAGE_PROCESS_FAILED",
    );
    const strip = new FormData();
    strip.set("chat_id", String(ada.chatId));
    strip.set("photo", new Blob([png(2100, 100)]), "strip.png");
    expect((await upload(box.apiRoot, box.token, "sendPhoto", strip)).body.description).toBe(
      "Bad Request: PHOTO_INVALID_DIMENSIONS",
    );
    const missing = await call(box, "sendDocument", { chat_id: ada.chatId });
    expect(missing.body.description).toBe("Bad Request: there is no document in the request");
    const unknownId = await call(box, "sendDocument", { chat_id: ada.chatId, document: "nope" });
    expect(unknownId.body.description).toBe(
      "Bad Request: wrong file identifier/HTTP URL specified",
    );
  });

  it("accepts form-urlencoded bodies with JSON-encoded objects", async () => {
    const box = await sandbox();
    const ada = startedUser(box);
    const response = await fetch(`${box.apiRoot}/bot${box.token}/sendMessage`, {
      method: "POST",
      body: new URLSearchParams({
        chat_id: String(ada.chatId),
        text: "Choose",
        reply_markup: JSON.stringify({ inline_keyboard: [[{ text: "A", callback_data: "a" }]] }),
      }),
    });
    expect(response.status).toBe(200);
    expect(ada.lastBotMessage()?.buttons).toEqual([["A"]]);
  });

  it("parses grammY-style part headers (lower case, no spaces, unquoted filename)", () => {
    const boundary = "----------abc123";
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-disposition:form-data;name="chat_id"\r\n\r\n42`),
      Buffer.from(
        `\r\n--${boundary}\r\ncontent-disposition:form-data;name="document"\r\n\r\nattach://k1`,
      ),
      Buffer.from(
        `\r\n--${boundary}\r\ncontent-disposition:form-data;name="k1";filename=my report.pdf\r\ncontent-type:application/octet-stream\r\n\r\n`,
      ),
      Buffer.from([0x25, 0x50, 0x44, 0x46, 0x0d, 0x0a, 0x00, 0xff]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const parsed = parseMultipart(body, `multipart/form-data; boundary=${boundary}`);
    expect(parsed.fields).toEqual({ chat_id: "42", document: "attach://k1" });
    expect(parsed.files.k1?.filename).toBe("my report.pdf");
    expect(parsed.files.k1?.size).toBe(8);
    expect([...(parsed.files.k1?.data ?? [])]).toEqual([
      0x25, 0x50, 0x44, 0x46, 0x0d, 0x0a, 0x00, 0xff,
    ]);
  });

  it("answers a malformed multipart body with 400", async () => {
    const box = await sandbox();
    const response = await fetch(`${box.apiRoot}/bot${box.token}/sendDocument`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=xyz" },
      body: '--xyz\r\ncontent-disposition: form-data; name="a"\r\n\r\nunterminated',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { description: string }).description).toMatch(
      /^Bad Request: /,
    );
  });
});
