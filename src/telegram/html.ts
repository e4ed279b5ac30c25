// Telegram's message limits for HTML texts. Escaping and cutting are neutral text rules
// (src/text/html.ts), re-exported here for the adapter's modules.
import { cutText, escapeHtml } from "../text/html.js";

export { cutText, escapeHtml };

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
