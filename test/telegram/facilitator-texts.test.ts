// Every facilitator text exists in both languages, every key the code uses is defined, and the
// Chinese texts render (placeables filled, no Fluent errors) through the bot's translator.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createI18n, translator } from "../../src/telegram/i18n.js";

const FILES = [
  "src/telegram/features/facilitator.ts",
  "src/telegram/conversation/session-log.ts",
  "src/conversations/session-log.ts",
  "src/conversations/session-log-view.ts",
  "src/telegram/conversation/notes.ts",
  "src/usecases/sessions.ts",
];

function keys(locale: string): string[] {
  const src = readFileSync(`src/telegram/locales/${locale}/facilitator.ftl`, "utf8");
  return [...src.matchAll(/^([a-z][a-z0-9-]*) =/gm)].map((m) => m[1]!);
}

describe("facilitator texts", () => {
  it("has the same keys in en and zh, and every key the code uses", () => {
    const en = keys("en");
    expect(new Set(en).size).toBe(en.length);
    expect([...keys("zh")].sort()).toEqual([...en].sort());
    const used = new Set<string>();
    for (const f of FILES) {
      const code = readFileSync(f, "utf8");
      for (const m of code.matchAll(/"((?:fac|fam)-[a-z0-9-]+)"/g)) used.add(m[1]!);
      if (/`fac-\$\{[^}]+\}-label`/.test(code))
        ["fac-note-label", "fac-interview-label"].forEach((k) => used.add(k));
    }
    expect(used.size).toBeGreaterThan(50);
    for (const k of used) expect(en, k).toContain(k);
  });

  it("renders in both languages with variables escaped", () => {
    const tr = translator(createI18n("en", () => "en") as never);
    for (const locale of ["en", "zh"]) {
      const low = tr(locale, "fac-alert-low", {
        child: "P01 · <Mia>",
        group: "A",
        number: 2,
        total: 20,
        max: 40,
      });
      expect(low).toContain("P01 · &lt;Mia&gt;");
      expect(low).toContain("20");
      expect(tr(locale, "fac-closed-already", { held: "2026-12-01", amendments: 0 })).not.toMatch(
        /\{|\}/,
      );
      expect(tr(locale, "fac-closed-already", { held: "2026-12-01", amendments: 3 })).toContain(
        "3",
      );
    }
    expect(
      tr("en", "fac-alert-divergence-lower", {
        group: "A",
        number: 1,
        own: "Poor",
        ownValue: 2,
        ownMax: 5,
        mean: "38.0",
        maxTotal: 40,
        responses: 2,
      }),
    ).toContain("2 responses so far");
  });
});
