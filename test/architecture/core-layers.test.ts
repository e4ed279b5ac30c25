// The core layers' rules, checked over the source tree: src/domain holds pure rules (no grammY, no
// Prisma, no database transactions or audit writes), src/usecases opens the transactions and
// writes the audit events without knowing Telegram, and the Telegram adapter (src/telegram) reaches
// neither grammY-free layer's job. Imports are followed through relative paths, so a use case
// cannot reach the bot through a helper module either.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "generated" ? [] : files(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Source without comments, so prose about "the audit" or "a transaction" is not code. */
function code(file: string): string {
  return readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

// import/export … from "x", import "x", and dynamic import("x").
const IMPORT =
  /(?:^|;|\n)\s*(?:import|export)\b[^;]*?from\s+["']([^"']+)["']|(?:^|\n)\s*import\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
function imports(file: string): string[] {
  return [...code(file).matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** A relative specifier ("../x.js") as the .ts file it names, or null for a package. */
function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const p = resolve(dirname(from), spec);
  for (const candidate of [p.replace(/\.js$/, ".ts"), `${p}.ts`, join(p, "index.ts"), p]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

const rel = (f: string) => relative(SRC, f).split("\\").join("/");
const isGrammy = (m: string) =>
  m === "grammy" || m.startsWith("grammy/") || m.startsWith("@grammyjs/");
const isGenerated = (f: string | null, m: string) =>
  /(^|\/)generated\/prisma(\/|$)/.test(m) ||
  m.startsWith("@prisma/client") ||
  (f !== null && rel(f).startsWith("generated/"));
const isBot = (f: string | null) => f !== null && rel(f).startsWith("telegram/");

/** Every module a file reaches through local imports, with the chain that reaches it. */
function reach(start: string): Map<string, { via: string[]; packages: string[] }> {
  const seen = new Map<string, { via: string[]; packages: string[] }>();
  const queue: Array<{ file: string; via: string[] }> = [{ file: start, via: [] }];
  while (queue.length) {
    const { file, via } = queue.shift()!;
    if (seen.has(file)) continue;
    const specs = imports(file);
    seen.set(file, { via, packages: specs.filter((s) => !s.startsWith(".")) });
    for (const s of specs) {
      const target = resolveLocal(file, s);
      // The generated client is not followed: reaching it is reported by the direct check.
      if (target && !rel(target).startsWith("generated/"))
        queue.push({ file: target, via: [...via, rel(file)] });
    }
  }
  return seen;
}

const CORE = [...files(join(SRC, "domain")), ...files(join(SRC, "usecases"))];

describe("core layers (src/domain, src/usecases)", () => {
  it("exist and hold the conversation machines and the use cases", () => {
    const names = CORE.map(rel);
    for (const f of [
      "domain/conversations/questionnaire.ts",
      "domain/conversations/session-log.ts",
      "domain/conversations/note.ts",
      "domain/conversations/enrolment.ts",
      "domain/conversations/withdrawal.ts",
      "usecases/enrolment.ts",
      "usecases/consent.ts",
      "usecases/withdrawal.ts",
    ])
      expect(names).toContain(f);
  });

  it("import neither grammY, nor Prisma's generated client, nor the Telegram adapter", () => {
    const offenders = CORE.flatMap((f) =>
      imports(f)
        .filter(
          (m) => isGrammy(m) || isGenerated(resolveLocal(f, m), m) || isBot(resolveLocal(f, m)),
        )
        .map((m) => `${rel(f)} imports ${m}`),
    );
    expect(offenders).toEqual([]);
  });

  it("do not reach grammY or the Telegram adapter through other modules either", () => {
    const offenders = CORE.flatMap((f) =>
      [...reach(f)].flatMap(([file, { via, packages }]) => [
        ...(isBot(file) ? [`${rel(f)} reaches ${rel(file)} via ${via.join(" → ")}`] : []),
        ...packages
          .filter(isGrammy)
          .map((m) => `${rel(f)} reaches ${m} via ${[...via, rel(file)].join(" → ")}`),
      ]),
    );
    expect(offenders).toEqual([]);
  });

  it("src/domain opens no transaction, writes no audit event and touches no database", () => {
    const offenders = files(join(SRC, "domain")).flatMap((f) => {
      const src = code(f);
      return [
        /\$transaction\b/,
        /\baudit\s*\(/,
        /\$(queryRaw|executeRaw)\b/,
        /from\s+["'][^"']*\/(db|audit)\//,
      ]
        .filter((re) => re.test(src))
        .map((re) => `${rel(f)} matches ${re}`);
    });
    expect(offenders).toEqual([]);
  });

  it("the moved use cases' audit actions are written only under src/usecases", () => {
    const actions = ["account.enrol", "account.locale", "participant.withdraw", "note.create"];
    const offenders = files(SRC).flatMap((f) => {
      if (rel(f).startsWith("usecases/")) return [];
      const src = code(f);
      const found = actions.filter((a) => src.includes(`action: "${a}"`));
      // Consent and assent are recorded as `${which}.record`.
      if (
        /action:\s*`\$\{[^}]+\}\.record`/.test(src) ||
        /action: "(consent|assent)\.record"/.test(src)
      )
        found.push("consent/assent.record");
      return found.map((a) => `${rel(f)} writes ${a}`);
    });
    expect(offenders).toEqual([]);
  });

  it("the checks themselves find what they look for (they would catch an offender)", () => {
    const bot = join(SRC, "telegram/conversation/withdrawal.ts");
    expect(imports(bot)).toContain("../../usecases/withdrawal.js");
    expect([...reach(bot).keys()].map(rel)).toContain("usecases/withdrawal.ts");
    expect(imports(join(SRC, "telegram/create-bot.ts")).some(isGrammy)).toBe(true);
    expect(code(join(SRC, "usecases/withdrawal.ts"))).toMatch(/\$transaction\b/);
    expect(code(join(SRC, "usecases/withdrawal.ts"))).toMatch(/\baudit\s*\(/);
    // Two hops: the parent feature reaches the withdrawal use case through its adapter.
    const fromFeature = reach(join(SRC, "telegram/features/parent.ts"));
    expect(fromFeature.get(join(SRC, "usecases/withdrawal.ts"))?.via).toEqual([
      "telegram/features/parent.ts",
      "telegram/conversation/withdrawal.ts",
    ]);
  });
});
