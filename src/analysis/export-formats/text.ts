// Label text helpers shared by the script writers: one line, cut to a tool's limit without
// splitting a character, and wrapped word lists for long commands.

/** Line breaks and tabs become spaces (no tool takes a raw line break inside a label). */
export function oneLine(s: string): string {
  return (
    s
      .replace(/\r\n|[\r\n\t]/g, " ")
      // Other control characters have no place in a label.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]/g, "")
      .trim()
  );
}

const ELLIPSIS = "…";

/** At most `max` UTF-8 bytes, cut at a character boundary and marked with "…" when cut. */
export function limitBytes(s: string, max: number): string {
  if (Buffer.byteLength(s, "utf8") <= max) return s;
  const room = max - Buffer.byteLength(ELLIPSIS, "utf8");
  let out = "";
  let used = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, "utf8");
    if (used + b > room) break;
    out += ch;
    used += b;
  }
  return out + ELLIPSIS;
}

/** At most `max` characters (code points), marked with "…" when cut. */
export function limitChars(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join("") + ELLIPSIS;
}

/** Words joined by spaces into lines of at most `width` characters, each line indented. */
export function wrap(words: readonly string[], indent: string, width = 78): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line !== "" && indent.length + line.length + 1 + w.length > width) {
      lines.push(indent + line);
      line = w;
    } else {
      line = line === "" ? w : `${line} ${w}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}
