// Order within a chat, as the user saw it happen: every message the bot sent and every edit it
// made, in the order the sandbox applied them. Questions must come in journey order (the same
// one again is fine: a /resume, or a send retried after its reply was lost), never skip one,
// and an answered question is edited to show its answer before the next question arrives.
import type { Sandbox, SandboxEvent } from "../../../src/sandbox/index.js";
import type { StepReader } from "./family.js";

interface Entry {
  kind: "send" | "edit";
  messageId: number;
  text: string;
}

export class ChatLog {
  private readonly entries = new Map<number, Entry[]>();

  constructor(private readonly sandbox: Sandbox) {
    sandbox.state.events.on("change", (e: SandboxEvent) => {
      if (e.kind !== "botMessage" && e.kind !== "botEdit") return;
      const stored = sandbox.state.chats.get(e.chatId)?.messages.get(e.messageId);
      const list = this.entries.get(e.chatId) ?? [];
      list.push({
        kind: e.kind === "botMessage" ? "send" : "edit",
        messageId: e.messageId,
        text: stored?.message.text ?? "",
      });
      this.entries.set(e.chatId, list);
    });
  }

  /** Problems with the order of one chat (empty when it is right). */
  check(chatId: number, reader: StepReader): { problems: string[]; repeats: number } {
    const problems: string[] = [];
    let shown = 0;
    let lastAck = -1;
    let repeats = 0;
    const acked = new Set<number>();
    for (const entry of this.entries.get(chatId) ?? []) {
      const read = reader.read(entry.text);
      if (!("index" in read)) continue;
      const i = read.index;
      if (entry.kind === "send") {
        if (i === shown) repeats++;
        else if (i !== shown + 1) problems.push(`step ${i} sent after step ${shown}`);
        shown = Math.max(shown, i);
      } else if (/\n✓ /.test(entry.text) && !acked.has(entry.messageId)) {
        acked.add(entry.messageId);
        if (i !== shown) problems.push(`step ${i} acknowledged after step ${shown} was sent`);
        if (i <= lastAck) problems.push(`step ${i} acknowledged again after step ${lastAck}`);
        lastAck = Math.max(lastAck, i);
      }
    }
    return { problems, repeats };
  }
}
