// The fonts charts are drawn with. The machines have only DejaVu, which has no Chinese glyphs
// (Chinese labels would come out as empty boxes), so a Simplified Chinese Noto Sans (OFL) is
// shipped through the npm package @embedpdf/fonts-sc. resvg gets exactly these files (no
// system font scan), and vega measures labels with the same files, so layout and drawing agree.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readFontFace, type FontFace } from "./sfnt.js";

const DEJAVU_DIR = "/usr/share/fonts/truetype/dejavu";

export interface ChartFonts {
  /** Font files to hand to resvg. */
  files: string[];
  /** Latin faces (DejaVu Sans); empty when the machine lacks DejaVu, then Noto draws Latin too. */
  latin: FontFace[];
  /** Simplified Chinese faces (regular and bold). */
  cjk: FontFace[];
  latinFamily: string;
  cjkFamily: string;
}

let loaded: ChartFonts | undefined;

export function chartFonts(): ChartFonts {
  loaded ??= loadChartFonts();
  return loaded;
}

function loadChartFonts(): ChartFonts {
  // The package's "exports" only exposes its JS entry, so find its folder from there.
  const entry = createRequire(import.meta.url).resolve("@embedpdf/fonts-sc");
  const cjkDir = join(dirname(entry), "..", "fonts");
  const cjk = ["NotoSansHans-Regular.otf", "NotoSansHans-Bold.otf"].map((f) =>
    readFontFace(join(cjkDir, f)),
  );
  const latin = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]
    .map((f) => join(DEJAVU_DIR, f))
    .filter((f) => existsSync(f))
    .map((f) => readFontFace(f));
  const cjkFamily = cjk[0]!.family;
  return {
    files: [...latin, ...cjk].map((f) => f.file),
    latin,
    cjk,
    latinFamily: latin[0]?.family ?? cjkFamily,
    cjkFamily,
  };
}

/**
 * The CSS font-family list for a chart in this locale. Chinese charts are set entirely in Noto
 * (resvg draws a run that mixes scripts in one fallback font, ignoring weight, so bold titles
 * would turn regular); other locales use DejaVu with Noto behind it for stray Chinese text.
 */
export function fontFamilyFor(locale: string): string {
  const { latinFamily, cjkFamily } = chartFonts();
  const order = isChineseLocale(locale) ? [cjkFamily, latinFamily] : [latinFamily, cjkFamily];
  return [...new Set(order)].map((f) => `'${f}'`).join(", ") + ", sans-serif";
}

export function isChineseLocale(locale: string): boolean {
  return /^zh\b/i.test(locale);
}

/** Characters of `text` that no chart font can draw (each listed once). */
export function missingGlyphs(text: string): string[] {
  const { latin, cjk } = chartFonts();
  const faces = [...latin, ...cjk];
  const missing = new Set<string>();
  for (const ch of text) {
    if (/\s/.test(ch)) continue;
    const cp = ch.codePointAt(0)!;
    if (!faces.some((f) => f.hasGlyph(cp))) missing.add(ch);
  }
  return [...missing];
}
