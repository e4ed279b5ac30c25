// Language names in column headers (XLSForm's `label::Chinese (zh)`) ↔ Circle locale codes.
const LOCALE = /^[a-z]{2}(-[A-Za-z]{2,4})?$/;

const names = new Intl.DisplayNames(["en"], { type: "language", fallback: "none" });

/** English language name → two-letter code, for headers written without a code ("English"). */
let byName: Map<string, string> | undefined;
function codeForName(name: string): string | undefined {
  if (!byName) {
    byName = new Map();
    const a = "abcdefghijklmnopqrstuvwxyz";
    for (const x of a)
      for (const y of a) {
        const code = x + y;
        const n = names.of(code);
        if (n && n !== code && !byName.has(n.toLowerCase())) byName.set(n.toLowerCase(), code);
      }
  }
  return byName.get(name.trim().toLowerCase());
}

export type LanguageResult = { ok: true; locale: string } | { ok: false; message: string };

function normalise(code: string): string {
  const [lang, ...rest] = code.replace(/_/g, "-").split("-");
  return [lang!.toLowerCase(), ...rest].join("-");
}

/**
 * The locale of an XLSForm language suffix: "English (en)", "en", "Chinese (zh-Hans)" or a plain
 * English name ("Chinese").
 */
export function parseLanguage(text: string): LanguageResult {
  const s = text.trim();
  const paren = /\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\)\s*$/.exec(s);
  const bare = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$/.test(s) ? s : undefined;
  const code = paren?.[1] ?? bare ?? codeForName(s);
  if (code === undefined)
    return {
      ok: false,
      message: `cannot tell which language "${s}" is; write it with its code, e.g. "${s} (xx)"`,
    };
  const locale = normalise(code);
  if (!LOCALE.test(locale))
    return {
      ok: false,
      message: `language code "${code}" is not one Circle supports (two letters, optionally a region: "zh", "zh-Hans")`,
    };
  return { ok: true, locale };
}

/** "English (en)", "Chinese (zh)": how XLSForm columns name a language. */
export function languageLabel(locale: string): string {
  let name: string | undefined;
  try {
    name = names.of(locale);
  } catch {
    name = undefined;
  }
  return `${name ?? locale} (${locale})`;
}
