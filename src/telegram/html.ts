// Every flow or user string goes through escapeHtml before it is put in a parse_mode HTML message.
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

export const TELEGRAM_TEXT_LIMIT = 4096;

/** Visible length of an HTML message as Telegram counts it (tags removed, entities decoded; UTF-16 units). */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]+>/g, "").replace(/&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);/g, "x")
    .length;
}

/**
 * Splits a long HTML text at line breaks into chunks Telegram accepts. Lines are kept whole
 * (callers put tags within a line), and a single over-long line is cut at a safe boundary.
 */
export function splitHtml(html: string, limit = TELEGRAM_TEXT_LIMIT - 96): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const line of html.split("\n")) {
    const candidate = current === "" ? line : `${current}\n${line}`;
    if (visibleLength(candidate) <= limit) {
      current = candidate;
      continue;
    }
    if (current !== "") chunks.push(current);
    if (visibleLength(line) <= limit) current = line;
    else {
      // Strip tags from a pathological line and cut it; escaping is preserved by re-escaping.
      const plain = line
        .replace(/<[^>]+>/g, "")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, "&");
      for (let i = 0; i < plain.length;) {
        const part = cutText(plain.slice(i, i + limit + 1), limit) || plain.slice(i, i + 2);
        chunks.push(escapeHtml(part));
        i += part.length;
      }
      current = "";
    }
  }
  if (current !== "") chunks.push(current);
  return chunks.length ? chunks : [""];
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
