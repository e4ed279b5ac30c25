// `circle flows check` and `circle codebook`, run through runCli as a user would.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseCsv } from "csv-parse/sync";
import { runCli } from "../../src/cli/program.js";
import { loadFlows } from "../../src/study/load.js";
import { copyFlows, licensedInstrumentYaml, type FlowsCopy } from "../study/support.js";

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const { code } = await runCli(argv, {
    env,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

const shipped = (() => {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.flows;
})();
const shippedItems = shipped.instrumentList.reduce((n, i) => n + i.items.length, 0);

let f: FlowsCopy;
let extra: string;
beforeEach(() => {
  f = copyFlows();
  extra = mkdtempSync(join(tmpdir(), "circle-extra-"));
});
afterEach(() => {
  f.cleanup();
  rmSync(extra, { recursive: true, force: true });
});

describe("circle flows check", () => {
  it("passes the shipped flows with a one-line summary", async () => {
    const r = await run(["flows", "check"]);
    expect(r).toEqual({
      code: 0,
      stdout: `flows ok: ${shipped.instrumentList.length} instruments, ${shippedItems} items, locales en, zh\n`,
      stderr: "",
    });
  });

  it("--json lists each instrument's id, hash and item count", async () => {
    const r = await run(["flows", "check", "--json"], { FLOWS_DIR: f.dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      errors: [],
      instruments: shipped.instrumentList.map((i) => ({
        id: i.id,
        hash: i.hash,
        items: i.items.length,
      })),
    });
  });

  it("reports every mistake across several files, one per line, and exits 1", async () => {
    f.edit("instruments/social-skills.yaml", (d) => (d.items[3].subscale = "peer_acceptence"));
    f.edit("instruments/qol-proxy.yaml", (d) => delete d.items[5].text.zh);
    f.edit(
      "instruments/session-satisfaction.yaml",
      (d) => (d.scales.zero_ten.options[2].value = 1),
    );
    f.edit("instruments/observation.yaml", (d) => (d.items[0].colour = "blue"));
    f.edit("study.yaml", (d) => {
      d.sessions[1].focus[0] = "empathy";
      d.assignments.afterSession.parent.push("social-skills-child");
    });
    f.write("instruments/broken.yaml", "id: broken\ntitle: [unclosed\n");
    const expected = [
      `${f.path("study.yaml")}: sessions[1].focus[0]: unknown dimension "empathy" (not a subscale of "observation")`,
      `${f.path("study.yaml")}: assignments.afterSession.parent[1]: instrument "social-skills-child" is answered by child, not parent`,
      `${f.path("instruments/observation.yaml")}: items[0]: unknown field(s) "colour"`,
      `${f.path("instruments/qol-proxy.yaml")}: items[5].text: missing translation "zh"`,
      `${f.path("instruments/session-satisfaction.yaml")}: scales.zero_ten.options[2].value: duplicate answer value 1`,
      `${f.path("instruments/social-skills.yaml")}: items[3].subscale: unknown subscale "peer_acceptence"`,
    ];

    const r = await run(["flows", "check"], { FLOWS_DIR: f.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^circle: flows have \d+ error\(s\)$/);
    const errors = lines.slice(1);
    expect(errors).toEqual(expect.arrayContaining(expected));
    const syntax = errors.filter((e) =>
      e.startsWith(`${f.path("instruments/broken.yaml")}: (top level): YAML syntax error at line `),
    );
    expect(syntax.length).toBeGreaterThan(0);
    // Nothing else: no knock-on errors from the broken files.
    expect(errors).toHaveLength(expected.length + syntax.length);
    expect(lines[0]).toBe(`circle: flows have ${errors.length} error(s)`);

    const j = await run(["flows", "check", "--json"], { FLOWS_DIR: f.dir });
    expect(j.code).toBe(1);
    const out = JSON.parse(j.stdout) as {
      ok: boolean;
      errors: string[];
      instruments: { id: string }[];
    };
    expect(out.ok).toBe(false);
    expect(out.errors).toEqual(errors);
    // The instruments that are still sound are listed.
    expect(out.instruments.map((i) => i.id)).toEqual([
      "facilitator-reflection",
      "group-satisfaction",
      "social-skills-child",
    ]);
  });

  it("honours EXTRA_FLOWS_DIR", async () => {
    writeFileSync(join(extra, "licensed.yaml"), licensedInstrumentYaml());
    const ok = await run(["flows", "check"], { FLOWS_DIR: f.dir, EXTRA_FLOWS_DIR: extra });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(
      `flows ok: ${shipped.instrumentList.length + 1} instruments, ${shippedItems + 3} items, locales en, zh\n`,
    );

    const missing = await run(["flows", "check"], {
      FLOWS_DIR: f.dir,
      EXTRA_FLOWS_DIR: join(extra, "gone"),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `${join(extra, "gone")}: (top level): extra flows folder does not exist`,
    );
  });

  it("is a usage error (exit 2) with an unknown option", async () => {
    const r = await run(["flows", "check", "--verbose"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^circle: unknown option '--verbose'\n$/);
  });
});

describe("circle codebook", () => {
  it("--json follows the contract", async () => {
    const r = await run(["codebook", "--json"]);
    expect(r.code).toBe(0);
    const book = JSON.parse(r.stdout) as {
      instruments: {
        id: string;
        hash: string;
        transform: string;
        subscales: { id: string; items: string[] }[];
        items: {
          text: Record<string, string>;
          min: number | null;
          options: { value: number; label: Record<string, string> }[];
        }[];
      }[];
    };
    expect(book.instruments.map((i) => [i.id, i.hash])).toEqual(
      shipped.instrumentList.map((i) => [i.id, i.hash]),
    );
    const qol = book.instruments.find((i) => i.id === "qol-proxy")!;
    expect(qol.transform).toBe("0-100");
    expect(qol.subscales.map((s) => s.items.length)).toEqual([8, 5, 5, 5]);
    const ss = book.instruments.find((i) => i.id === "social-skills")!;
    expect(ss.subscales).toHaveLength(6);
    for (const ins of book.instruments)
      for (const it of ins.items) {
        expect(Object.keys(it.text).sort()).toEqual(["en", "zh"]);
        for (const o of it.options) expect(Object.keys(o.label).sort()).toEqual(["en", "zh"]);
      }
  });

  it("--csv prints one row per item", async () => {
    const r = await run(["codebook", "--csv"]);
    expect(r.code).toBe(0);
    const rows = parseCsv(r.stdout, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(shippedItems);
    expect(rows[0]).toHaveProperty("text_zh");
  });

  it("prints a readable summary without flags", async () => {
    const r = await run(["codebook"]);
    expect(r.code).toBe(0);
    for (const i of shipped.instrumentList)
      expect(r.stdout).toContain(`${i.id} v${i.version} (${i.respondent}, ${i.items.length} items`);
    expect(r.stdout).toContain("  - peer_acceptance: 4 item(s)");
  });

  it("includes instruments from EXTRA_FLOWS_DIR", async () => {
    writeFileSync(join(extra, "licensed.yaml"), licensedInstrumentYaml());
    const r = await run(["codebook", "--json"], { FLOWS_DIR: f.dir, EXTRA_FLOWS_DIR: extra });
    expect(r.code).toBe(0);
    const ids = (JSON.parse(r.stdout) as { instruments: { id: string }[] }).instruments.map(
      (i) => i.id,
    );
    expect(ids.at(-1)).toBe("licensed-wellbeing");
  });

  it("fails (exit 1) when the flows have errors, pointing to flows check", async () => {
    f.edit("instruments/qol-proxy.yaml", (d) => delete d.title.zh);
    const r = await run(["codebook", "--json"], { FLOWS_DIR: f.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("run `circle flows check`");
    expect(r.stderr).toContain(
      `${f.path("instruments/qol-proxy.yaml")}: title: missing translation "zh"`,
    );
  });

  it.each([[["codebook", "--xml"]], [["codebook", "--json", "--csv"]]])(
    "is a usage error (exit 2): %j",
    async (argv) => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^circle: .+\n$/);
    },
  );
});
