// The "/" menu each person sees: per role and language, set for their chat only.
import type { Api } from "grammy";
import type { Translate } from "./i18n.js";

export const COMMANDS_BY_ROLE: Record<string, string[]> = {
  parent: ["resume", "status", "language", "withdraw", "help"],
  facilitator: ["session", "note", "interview", "nickname", "language", "help"],
  researcher: ["progress", "report", "export", "language", "help"],
  admin: ["progress", "report", "export", "language", "help"],
  none: ["start", "help"],
};

export async function setCommandsFor(
  api: Api,
  tr: Translate,
  chatId: number | string,
  role: string,
  locale: string,
): Promise<void> {
  const names = COMMANDS_BY_ROLE[role] ?? COMMANDS_BY_ROLE.none!;
  await api.setMyCommands(
    names.map((command) => ({ command, description: tr(locale, `cmd-${command}`) })),
    { scope: { type: "chat", chat_id: Number(chatId) } },
  );
}
