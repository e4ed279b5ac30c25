// Vega sizes axes, legends and titles from text widths. Without a canvas it guesses 0.8 em per
// character, which is too narrow for Chinese (1 em each) and clips legends. We plug in widths
// read from the same font files resvg draws with.
import * as vega from "vega";
import { chartFonts } from "./fonts.js";
import type { FontFace } from "./sfnt.js";

interface TextItem {
  text?: unknown;
  font?: string;
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
}

interface TextMetrics {
  width: (item: TextItem, text?: unknown) => number;
}

let installed = false;

/** Makes vega measure text with the chart fonts (process-wide; idempotent). */
export function installTextMeasure(): void {
  if (installed) return;
  // textMetrics is exported at run time (from vega-scenegraph) but missing from vega's typings.
  const metrics = (vega as unknown as { textMetrics: TextMetrics }).textMetrics;
  metrics.width = (item, text) => {
    const value = text ?? item.text;
    const line = (Array.isArray(value) ? value.join(" ") : String(value ?? "")).trim();
    const width = measureText(line, item.font, fontSize(item), item.fontWeight);
    // Vega truncates labels to `limit` by asking for widths; a capped answer keeps that working
    // without calling back into vega (which would recurse).
    return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
  };
  installed = true;
}

function fontSize(item: TextItem): number {
  return item.fontSize != null ? Number(item.fontSize) || 0 : 11;
}

/** Width in pixels of one line of text set in a CSS font-family list. */
export function measureText(
  text: string,
  fontFamily: string | undefined,
  size: number,
  weight?: number | string,
): number {
  const chain = faceChain(fontFamily, isBold(weight));
  const all = [...chartFonts().latin, ...chartFonts().cjk];
  let em = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    // Like resvg: the first listed family that has the glyph, else any loaded font that has it.
    const face = chain.find((f) => f.hasGlyph(cp)) ?? all.find((f) => f.hasGlyph(cp)) ?? chain[0];
    em += face ? face.advance(cp) : 0.6;
  }
  return em * size;
}

function isBold(weight: number | string | undefined): boolean {
  if (weight === undefined) return false;
  if (typeof weight === "number") return weight >= 600;
  return weight === "bold" || weight === "bolder" || Number(weight) >= 600;
}

function faceChain(fontFamily: string | undefined, bold: boolean): FontFace[] {
  const fonts = chartFonts();
  const families = (fontFamily ?? "sans-serif")
    .split(",")
    .map((f) => f.trim().replace(/^['"]|['"]$/g, ""));
  const chain: FontFace[] = [];
  for (const family of families) {
    const group =
      family === fonts.cjkFamily
        ? fonts.cjk
        : family === fonts.latinFamily || family === "sans-serif"
          ? fonts.latin.length > 0
            ? fonts.latin
            : fonts.cjk
          : [];
    const face = pickWeight(group, bold);
    if (face && !chain.includes(face)) chain.push(face);
  }
  return chain;
}

function pickWeight(faces: FontFace[], bold: boolean): FontFace | undefined {
  const target = bold ? 700 : 400;
  return [...faces].sort((a, b) => Math.abs(a.weight - target) - Math.abs(b.weight - target))[0];
}
