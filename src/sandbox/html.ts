// Telegram's HTML parse mode, following the algorithm of tdlib's parse_html (the code behind the
// Bot API), so the same input fails here with the same message ("Unsupported start tag "x" at byte
// offset N", ...). Offsets in error messages are UTF-8 byte offsets like Telegram's; entity offsets
// and lengths are UTF-16 code units like the Bot API's.
//
// One deliberate difference: tdlib keeps a bare "&" that does not start an entity as a literal
// "&". The Bot API documentation says every "&" that is not part of an entity must be escaped, and
// a bot relying on the leniency is one careless string away from breaking, so by default (strict)
// the sandbox rejects it.
import type { MessageEntity } from "grammy/types";

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

export class HtmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HtmlParseError";
  }
}

const SUPPORTED_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "s",
  "strike",
  "del",
  "u",
  "ins",
  "tg-spoiler",
  "tg-emoji",
  "span",
  "pre",
  "code",
  "blockquote",
]);

const isSpace = (c: string | undefined): boolean =>
  c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
const isNameTokenChar = (c: string | undefined): boolean =>
  c !== undefined && /[A-Za-z0-9.-]/.test(c);

interface OpenTag {
  name: string;
  argument: string;
  expandable: boolean;
  offset: number; // UTF-16 offset in the output text
  outputStart: number; // index into the output string, to recover the link text of <a>
}

export interface ParseHtmlOptions {
  /** Reject a bare "&" (see the file comment). Default true. */
  strict?: boolean;
}

export function parseHtml(source: string, options: ParseHtmlOptions = {}): FormattedText {
  const strict = options.strict ?? true;
  const byteOffset = (index: number): number => Buffer.byteLength(source.slice(0, index), "utf8");
  const entities: MessageEntity[] = [];
  const stack: OpenTag[] = [];
  let out = "";
  let i = 0;

  while (i < source.length) {
    const c = source[i];
    if (c === "&") {
      const decoded = decodeEntity(source, i);
      if (decoded) {
        out += decoded.char;
        i = decoded.end;
        continue;
      }
      if (strict) {
        throw new HtmlParseError(
          `Unescaped "&" at byte offset ${byteOffset(i)} (sandbox strict mode; use &amp;)`,
        );
      }
      out += c;
      i++;
      continue;
    }
    if (c !== "<") {
      out += c;
      i++;
      continue;
    }

    const begin = i++;
    if (source[i] !== "/") {
      // Start tag: the name runs to the first space or ">".
      while (i < source.length && !isSpace(source[i]) && source[i] !== ">") i++;
      if (i >= source.length) {
        throw new HtmlParseError(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
      }
      const name = source.slice(begin + 1, i).toLowerCase();
      if (!SUPPORTED_TAGS.has(name)) {
        throw new HtmlParseError(
          `Unsupported start tag "${name}" at byte offset ${byteOffset(begin)}`,
        );
      }
      let argument = "";
      let expandable = false;
      while (source[i] !== ">") {
        while (i < source.length && isSpace(source[i])) i++;
        if (i >= source.length) {
          throw new HtmlParseError(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
        }
        if (source[i] === ">") break;
        const attributeBegin = i;
        while (i < source.length && !isSpace(source[i]) && source[i] !== "=" && source[i] !== ">") {
          i++;
        }
        const attribute = source.slice(attributeBegin, i).toLowerCase();
        if (attribute === "") {
          throw new HtmlParseError(
            `Empty attribute name in the tag "${name}" at byte offset ${byteOffset(begin)}`,
          );
        }
        while (i < source.length && isSpace(source[i])) i++;
        if (i >= source.length) {
          throw new HtmlParseError(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
        }
        if (source[i] !== "=") {
          // A valueless attribute, e.g. <blockquote expandable>.
          if (name === "blockquote" && attribute === "expandable") expandable = true;
          continue;
        }
        i++;
        while (i < source.length && isSpace(source[i])) i++;
        if (i >= source.length) {
          throw new HtmlParseError(
            `Unclosed start tag "${name}" at byte offset ${byteOffset(begin)}`,
          );
        }
        let value = "";
        const quote = source[i];
        if (quote === '"' || quote === "'") {
          i++;
          while (i < source.length && source[i] !== quote) {
            if (source[i] === "&") {
              const decoded = decodeEntity(source, i);
              if (decoded) {
                value += decoded.char;
                i = decoded.end;
                continue;
              }
            }
            value += source[i];
            i++;
          }
          if (source[i] === quote) i++;
        } else {
          // An unquoted name token: letters, digits, periods and hyphens; case-insensitive.
          const tokenBegin = i;
          while (isNameTokenChar(source[i])) i++;
          value = source.slice(tokenBegin, i).toLowerCase();
          if (i < source.length && !isSpace(source[i]) && source[i] !== ">") {
            throw new HtmlParseError(
              `Unexpected end of name token at byte offset ${byteOffset(tokenBegin)}`,
            );
          }
        }
        if (i >= source.length) {
          throw new HtmlParseError(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
        }
        if (name === "a" && attribute === "href") argument = value;
        else if (name === "code" && attribute === "class" && value.startsWith("language-")) {
          argument = value.slice("language-".length);
        } else if (name === "span" && attribute === "class" && value.startsWith("tg-")) {
          argument = value.slice("tg-".length);
        } else if (name === "tg-emoji" && attribute === "emoji-id") argument = value;
      }
      if (name === "span" && argument !== "spoiler") {
        throw new HtmlParseError(
          `Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(begin)}`,
        );
      }
      i++; // past ">"
      stack.push({ name, argument, expandable, offset: out.length, outputStart: out.length });
      continue;
    }

    // End tag.
    const open = stack.at(-1);
    if (!open) {
      throw new HtmlParseError(`Unexpected end tag at byte offset ${byteOffset(begin)}`);
    }
    i++; // past "/"
    const nameBegin = i;
    while (i < source.length && !isSpace(source[i]) && source[i] !== ">") i++;
    const endName = source.slice(nameBegin, i).toLowerCase();
    while (i < source.length && isSpace(source[i])) i++;
    if (source[i] !== ">") {
      throw new HtmlParseError(`Unclosed end tag at byte offset ${byteOffset(begin)}`);
    }
    if (endName !== "" && endName !== open.name) {
      throw new HtmlParseError(
        `Unmatched end tag at byte offset ${byteOffset(begin)}, expected "</${open.name}>", found "</${endName}>"`,
      );
    }
    i++; // past ">"
    stack.pop();
    const length = out.length - open.offset;
    if (length > 0) addEntity(entities, open, length, out.slice(open.outputStart));
  }

  const unclosed = stack.at(-1);
  if (unclosed) {
    throw new HtmlParseError(`Can't find end tag corresponding to start tag ${unclosed.name}`);
  }
  sortEntities(entities);
  return { text: out, entities };
}

function addEntity(entities: MessageEntity[], tag: OpenTag, length: number, inner: string): void {
  const offset = tag.offset;
  switch (tag.name) {
    case "b":
    case "strong":
      entities.push({ type: "bold", offset, length });
      return;
    case "i":
    case "em":
      entities.push({ type: "italic", offset, length });
      return;
    case "u":
    case "ins":
      entities.push({ type: "underline", offset, length });
      return;
    case "s":
    case "strike":
    case "del":
      entities.push({ type: "strikethrough", offset, length });
      return;
    case "tg-spoiler":
    case "span":
      entities.push({ type: "spoiler", offset, length });
      return;
    case "tg-emoji":
      if (!/^[0-9]+$/.test(tag.argument) || /^0+$/.test(tag.argument)) {
        throw new HtmlParseError("Invalid custom emoji identifier specified");
      }
      entities.push({ type: "custom_emoji", offset, length, custom_emoji_id: tag.argument });
      return;
    case "blockquote":
      entities.push({
        type: tag.expandable ? "expandable_blockquote" : "blockquote",
        offset,
        length,
      });
      return;
    case "a": {
      const target = tag.argument === "" ? inner : tag.argument;
      const mention = /^tg:\/\/user\?id=([0-9]+)$/i.exec(target);
      if (mention?.[1]) {
        const id = Number(mention[1]);
        entities.push({
          type: "text_mention",
          offset,
          length,
          user: { id, is_bot: false, first_name: "" },
        });
        return;
      }
      const url = checkedLink(target);
      // Telegram silently drops a link whose URL it cannot use, keeping the text.
      if (url) entities.push({ type: "text_link", offset, length, url });
      return;
    }
    case "pre": {
      const last = entities.at(-1) as (MessageEntity & { language?: string }) | undefined;
      if (
        last?.type === "code" &&
        last.offset === offset &&
        last.length === length &&
        last.language
      ) {
        // <pre><code class="language-x">…</code></pre> is one pre entity with a language.
        entities.pop();
        entities.push({ type: "pre", offset, length, language: last.language });
      } else {
        entities.push({ type: "pre", offset, length });
      }
      return;
    }
    case "code": {
      const last = entities.at(-1);
      if (
        last?.type === "pre" &&
        last.offset === offset &&
        last.length === length &&
        tag.argument
      ) {
        entities.pop();
        entities.push({ type: "pre", offset, length, language: tag.argument });
      } else if (tag.argument) {
        // Kept only until a surrounding <pre> claims it; a lone <code> has no language.
        entities.push({ type: "code", offset, length, language: tag.argument } as MessageEntity);
      } else {
        entities.push({ type: "code", offset, length });
      }
      return;
    }
  }
}

function sortEntities(entities: MessageEntity[]): void {
  for (const entity of entities) {
    if (entity.type === "code" && "language" in entity)
      delete (entity as { language?: string }).language;
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** Decodes the entity at source[start] === "&"; null when it is not one Telegram accepts. */
function decodeEntity(source: string, start: number): { char: string; end: number } | null {
  let end = start + 1;
  let code = 0;
  if (source[end] === "#") {
    end++;
    const hex = source[end] === "x";
    if (hex) end++;
    const digits = hex ? /[0-9a-fA-F]/ : /[0-9]/;
    const digitsBegin = end;
    while (end < source.length && digits.test(source[end] ?? "")) end++;
    const text = source.slice(digitsBegin, end);
    code = text === "" || text.length > 8 ? 0 : parseInt(text, hex ? 16 : 10);
    if (code === 0 || code >= 0x10ffff || end - start >= 10) return null;
    if (code >= 0xd800 && code <= 0xdfff) {
      throw new HtmlParseError(
        "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
      );
    }
  } else {
    while (end < source.length && /[A-Za-z]/.test(source[end] ?? "")) end++;
    const name = source.slice(start + 1, end);
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };
    const char = named[name];
    if (char === undefined) return null;
    code = char.codePointAt(0) ?? 0;
  }
  if (source[end] === ";") end++;
  return { char: String.fromCodePoint(code), end };
}

/** The URL Telegram would keep for a text link, or null. Bare domains get "http://". */
export function checkedLink(raw: string): string | null {
  const candidate = raw.trim();
  if (candidate === "") return null;
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(candidate) ? candidate : `http://${candidate}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return null;
  }
  const scheme = url.protocol.toLowerCase();
  if (scheme === "tg:" || scheme === "ton:") return candidate;
  if (scheme !== "http:" && scheme !== "https:" && scheme !== "ftp:") return null;
  if (!url.hostname.includes(".") && url.hostname !== "localhost") return null;
  return url.href;
}

/** Strips leading and trailing whitespace the way Telegram does, keeping entities aligned. */
export function trimFormatted(formatted: FormattedText): FormattedText {
  const leading = /^\s*/.exec(formatted.text)?.[0].length ?? 0;
  const text = formatted.text.trim();
  const end = text.length;
  const entities: MessageEntity[] = [];
  for (const entity of formatted.entities) {
    const from = Math.max(0, entity.offset - leading);
    const to = Math.min(end, entity.offset + entity.length - leading);
    if (to > from) entities.push({ ...entity, offset: from, length: to - from });
  }
  return { text, entities };
}

/** Escapes text for parse_mode HTML (what a bot should do with user-provided strings). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
