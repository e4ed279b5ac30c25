// A minimal reader for OpenType/TrueType files: just enough to know a font's family name,
// whether it has a glyph for a character, and how wide that glyph is. Vega lays out labels
// with these widths (it has no canvas in Node), and tests use the glyph check to prove that
// every Chinese string we chart is covered by the shipped font.
import { readFileSync } from "node:fs";

export interface FontFace {
  file: string;
  /** Family name as font matchers see it (typographic family, else legacy family). */
  family: string;
  /** usWeightClass from the OS/2 table (400 regular, 700 bold). */
  weight: number;
  /** Glyph id for a code point, 0 when the font has none. */
  glyphId(codePoint: number): number;
  hasGlyph(codePoint: number): boolean;
  /** Advance width of a code point's glyph in em units (1 = font size). */
  advance(codePoint: number): number;
}

type Tables = Map<string, { offset: number; length: number }>;

export function readFontFace(file: string): FontFace {
  const buf = readFileSync(file);
  const tables = tableDirectory(buf, file);
  const table = (tag: string): number => {
    const t = tables.get(tag);
    if (!t) throw new Error(`${file}: no '${tag}' table`);
    return t.offset;
  };

  const unitsPerEm = buf.readUInt16BE(table("head") + 18);
  const numberOfHMetrics = buf.readUInt16BE(table("hhea") + 34);
  const hmtx = table("hmtx");
  const glyphId = cmapLookup(buf, table("cmap"), file);
  const os2 = tables.get("OS/2");
  const weight = os2 ? buf.readUInt16BE(os2.offset + 4) : 400;
  const family = nameRecord(buf, table("name"), 16) ?? nameRecord(buf, table("name"), 1);
  if (!family) throw new Error(`${file}: no family name`);

  const advanceCache = new Map<number, number>();
  return {
    file,
    family,
    weight,
    glyphId,
    hasGlyph: (cp) => glyphId(cp) !== 0,
    advance(cp) {
      let em = advanceCache.get(cp);
      if (em === undefined) {
        // Glyphs past numberOfHMetrics share the last advance (monospaced tails, CJK blocks).
        const g = Math.min(glyphId(cp), numberOfHMetrics - 1);
        em = buf.readUInt16BE(hmtx + 4 * g) / unitsPerEm;
        advanceCache.set(cp, em);
      }
      return em;
    },
  };
}

function tableDirectory(buf: Buffer, file: string): Tables {
  const version = buf.readUInt32BE(0);
  // 0x00010000 = TrueType outlines, 'OTTO' = CFF outlines; collections and woff are not supported.
  if (version !== 0x00010000 && version !== 0x4f54544f) {
    throw new Error(`${file}: not a TTF/OTF file`);
  }
  const tables: Tables = new Map();
  const count = buf.readUInt16BE(4);
  for (let i = 0; i < count; i++) {
    const rec = 12 + 16 * i;
    tables.set(buf.toString("latin1", rec, rec + 4), {
      offset: buf.readUInt32BE(rec + 8),
      length: buf.readUInt32BE(rec + 12),
    });
  }
  return tables;
}

function cmapLookup(buf: Buffer, cmap: number, file: string): (cp: number) => number {
  const subtables: { platform: number; encoding: number; offset: number }[] = [];
  const count = buf.readUInt16BE(cmap + 2);
  for (let i = 0; i < count; i++) {
    const rec = cmap + 4 + 8 * i;
    subtables.push({
      platform: buf.readUInt16BE(rec),
      encoding: buf.readUInt16BE(rec + 2),
      offset: cmap + buf.readUInt32BE(rec + 4),
    });
  }
  const format = (s: { offset: number }) => buf.readUInt16BE(s.offset);
  // Prefer a full-Unicode format 12 table, then a BMP format 4 table.
  const full = subtables.find((s) => format(s) === 12 && (s.platform === 0 || s.encoding === 10));
  if (full) return format12(buf, full.offset);
  const bmp = subtables.find(
    (s) => format(s) === 4 && (s.platform === 0 || (s.platform === 3 && s.encoding === 1)),
  );
  if (bmp) return format4(buf, bmp.offset);
  throw new Error(`${file}: no Unicode cmap (format 4 or 12)`);
}

function format12(buf: Buffer, at: number): (cp: number) => number {
  const groups = buf.readUInt32BE(at + 12);
  const start = (i: number) => buf.readUInt32BE(at + 16 + 12 * i);
  const end = (i: number) => buf.readUInt32BE(at + 16 + 12 * i + 4);
  const glyph = (i: number) => buf.readUInt32BE(at + 16 + 12 * i + 8);
  return (cp) => {
    let lo = 0;
    let hi = groups - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < start(mid)) hi = mid - 1;
      else if (cp > end(mid)) lo = mid + 1;
      else return glyph(mid) + (cp - start(mid));
    }
    return 0;
  };
}

function format4(buf: Buffer, at: number): (cp: number) => number {
  const segCount = buf.readUInt16BE(at + 6) / 2;
  const endCodes = at + 14;
  const startCodes = endCodes + 2 * segCount + 2;
  const idDeltas = startCodes + 2 * segCount;
  const idRangeOffsets = idDeltas + 2 * segCount;
  return (cp) => {
    if (cp > 0xffff) return 0;
    for (let i = 0; i < segCount; i++) {
      if (cp > buf.readUInt16BE(endCodes + 2 * i)) continue;
      const start = buf.readUInt16BE(startCodes + 2 * i);
      if (cp < start) return 0;
      const delta = buf.readUInt16BE(idDeltas + 2 * i);
      const rangeOffset = buf.readUInt16BE(idRangeOffsets + 2 * i);
      if (rangeOffset === 0) return (cp + delta) & 0xffff;
      const g = buf.readUInt16BE(idRangeOffsets + 2 * i + rangeOffset + 2 * (cp - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
}

/** A Windows-platform (UTF-16BE) name, English first. */
function nameRecord(buf: Buffer, name: number, nameId: number): string | undefined {
  const count = buf.readUInt16BE(name + 2);
  const strings = name + buf.readUInt16BE(name + 4);
  let found: string | undefined;
  for (let i = 0; i < count; i++) {
    const rec = name + 6 + 12 * i;
    if (buf.readUInt16BE(rec) !== 3 || buf.readUInt16BE(rec + 6) !== nameId) continue;
    const length = buf.readUInt16BE(rec + 8);
    const offset = strings + buf.readUInt16BE(rec + 10);
    const text = Buffer.from(buf.subarray(offset, offset + length))
      .swap16()
      .toString("utf16le");
    if (buf.readUInt16BE(rec + 4) === 0x409) return text;
    found ??= text;
  }
  return found;
}
