// Renders a conversation kind's screen in the chat: the plain buttons become an inline keyboard
// whose callback data carries the conversation's nonce (encoded per feature).
import type { Button, Presenter, Screen } from "../../conversations/kind.js";
import type { Keyboard, Services } from "../services.js";

export type EncodeButton = (nonce: number, button: Button) => string;

export function keyboardOf(screen: Screen, nonce: number, encode: EncodeButton): Keyboard {
  return screen.buttons.map((row) =>
    row.map((b) => ({ text: b.text, callback_data: encode(nonce, b) })),
  );
}

export function chatPresenter(
  s: Services,
  chatId: number | string,
  encode: EncodeButton,
): Presenter {
  return {
    send: (screen, nonce) =>
      s.messenger.send(chatId, screen.html, keyboardOf(screen, nonce, encode)),
    edit: (messageId, screen, nonce) =>
      s.messenger.edit(chatId, messageId, screen.html, keyboardOf(screen, nonce, encode)),
    strip: (messageId) => s.messenger.stripButtons(chatId, messageId),
  };
}
