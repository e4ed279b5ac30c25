// Text rules for the HTML messages Circle writes (parse_mode HTML), needed by the outbox's
// renderers as much as by the Telegram adapter, so they live outside both.

/** Every flow or user string goes through this before it is put in an HTML message. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * The first `max` UTF-16 units of a text, one fewer when that would end between the two halves
 * of a surrogate pair (an emoji): Telegram refuses text that is not valid UTF-8.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
