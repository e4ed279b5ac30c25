// Vega-Lite spec → SVG (vega, no browser) → PNG (resvg). Charts go to Telegram as photos and
// into report archives, so output is a white-background PNG at 2× by default.
import { renderAsync, type RenderedImage } from "@resvg/resvg-js";
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import { chartFonts, fontFamilyFor } from "./fonts.js";
import { installTextMeasure } from "./measure.js";

export type ChartSpec = TopLevelSpec;

export interface SvgOptions {
  /**
   * Sets the font for a spec that does not set `config.font` itself (the spec builders do):
   * "zh…" uses the Chinese font, anything else DejaVu with the Chinese font as fallback.
   */
  locale?: string;
}

export interface PngOptions extends SvgOptions {
  /** Output width in pixels; the height follows the chart's aspect ratio. Wins over `scale`. */
  width?: number;
  /** Pixels per chart unit when `width` is not given (default 2, sharp on phone screens). */
  scale?: number;
}

export async function renderSvg(spec: ChartSpec, options: SvgOptions = {}): Promise<string> {
  installTextMeasure();
  const config = options.locale ? { font: fontFamilyFor(options.locale) } : undefined;
  const compiled = vl.compile(spec, config ? { config } : undefined).spec;
  const view = new vega.View(vega.parse(compiled as vega.Spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderPng(spec: ChartSpec, options: PngOptions = {}): Promise<Buffer> {
  return svgToPng(await renderSvg(spec, options), options);
}

export async function svgToPng(
  svg: string,
  options: Pick<PngOptions, "width" | "scale"> = {},
): Promise<Buffer> {
  return (await rasterize(svg, options)).asPng();
}

/**
 * The SVG drawn with the chart fonts; `.pixels` gives RGBA bytes, `.asPng()` the file.
 * Runs on libuv's thread pool: a panel of Chinese charts takes most of a second to draw
 * and must not stall the bot's event loop.
 */
export async function rasterize(
  svg: string,
  options: Pick<PngOptions, "width" | "scale"> = {},
): Promise<RenderedImage> {
  const fonts = chartFonts();
  const fitTo =
    options.width !== undefined
      ? ({ mode: "width", value: positive(options.width, "width") } as const)
      : ({ mode: "zoom", value: positive(options.scale ?? 2, "scale") } as const);
  return renderAsync(svg, {
    fitTo,
    background: "white",
    font: {
      // Only our files: the result does not depend on what else a machine has installed.
      loadSystemFonts: false,
      fontFiles: fonts.files,
      defaultFontFamily: fonts.latinFamily,
      sansSerifFamily: fonts.latinFamily,
    },
    logLevel: "off",
  });
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}
