// Whether the message a button was pressed on still shows that button. Telegram sends the
// message with its current inline keyboard, and a client cannot forge that part, so a press that
// the message does not show (replayed, double-tapped after the buttons were removed, or forged by
// a modified client) is recognised even for buttons that carry no nonce (language, withdrawal,
// and consent buttons sent before consent carried one). Messages older than 48 hours arrive
// "inaccessible" (date 0, no content): unknown.
import type { CallbackQuery } from "grammy/types";

export type PressedOn = "shown" | "not-shown" | "unknown";

export function pressedOn(query: CallbackQuery): PressedOn {
  const m = query.message;
  if (!m || m.date === 0) return "unknown";
  const keyboard = "reply_markup" in m ? m.reply_markup?.inline_keyboard : undefined;
  const shown =
    keyboard?.some((row) =>
      row.some((b) => "callback_data" in b && b.callback_data === query.data),
    ) ?? false;
  return shown ? "shown" : "not-shown";
}
