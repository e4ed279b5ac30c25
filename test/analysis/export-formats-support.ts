// Runs the statistics programs the export scripts are checked with (GNU PSPP, R). They are Debian
// packages (pspp, r-base-core) that .ci/run installs; a missing one fails the test with a message
// saying what to install, never a silent skip.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { isValidName } from "../../src/analysis/export-formats/names.js";

const parseCsv = (s: string) => parse(s, { relax_column_count: true }) as string[][];

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function need(command: string, pkg: string): void {
  const r = spawnSync(command, ["--version"], { encoding: "utf8" });
  if (r.error)
    throw new Error(
      `${command} is not installed (${(r.error as NodeJS.ErrnoException).code}); these tests run the exported scripts in it: apt-get install ${pkg}`,
    );
}

/** Runs `pspp <file>` in `cwd` with CSV output to `output`. */
export function runPspp(file: string, cwd: string, output: string): ToolRun {
  need("pspp", "pspp");
  const r = spawnSync("pspp", ["-O", "format=csv", "-o", output, file], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `Rscript <file>` in `cwd` in a UTF-8 locale (as a researcher's R session is). */
export function runRscript(file: string, cwd: string): ToolRun {
  need("Rscript", "r-base-core");
  const r = spawnSync("Rscript", ["--vanilla", file], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, LC_ALL: "C.UTF-8", LANG: "C.UTF-8" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The tables of PSPP's CSV output: title ("Descriptive Statistics") and rows. */
export function psppTables(csvOutput: string) {
  const tables: { title: string; rows: string[][] }[] = [];
  for (const block of csvOutput.split(/\n\s*\n/)) {
    const m = /^Table: (.*)\n([\s\S]*)$/.exec(block.trim());
    if (m) tables.push({ title: m[1]!, rows: parseCsv(m[2]!) });
  }
  return tables;
}

/**
 * Walks circle.do like Stata would, tracking which variables exist and which value labels are
 * defined, and returns every problem found.
 */
export function checkDoFile(doFile: string, dir: string): string[] {
  const problems: string[] = [];
  // Join "///" continuations into one command per line.
  const commands = doFile.replace(/ \/\/\/\n\s*/g, " ").split("\n");
  let vars: string[] = [];
  const labels = new Set<string>();
  const compound = /`"((?:(?!"').)*)"'/g;
  const stripStrings = (c: string) => c.replace(compound, "S");
  const need = (name: string, where: string) => {
    if (!vars.includes(name)) problems.push(`${where}: no variable ${name}`);
  };
  const valid = (name: string, where: string) => {
    if (!isValidName(name, "stata") && !name.startsWith("__circle_"))
      problems.push(`${where}: invalid name ${name}`);
  };
  for (const [i, raw] of commands.entries()) {
    const c = raw.trim();
    const where = `command ${i + 1}`;
    if (c === "" || c.startsWith("*")) continue;
    // Quoting: every compound string closes, and no plain quote is left over.
    const rest = stripStrings(c);
    if (/[`"]/.test(rest.replace(/"[^"`']*"/g, "S")))
      problems.push(`${where}: unbalanced quotes: ${c}`);
    for (const m of c.matchAll(compound))
      if (/(?<!\\)\$|`/.test(m[1]!)) problems.push(`${where}: macro character in ${m[0]}`);
    let m: RegExpExecArray | null;
    if ((m = /^import delimited using `"([^"]+)"', (.*)$/.exec(c))) {
      const header = parseCsv(readFileSync(join(dir, m[1]!), "utf8"))[0]!;
      const cols = (opt: string) =>
        (new RegExp(`${opt}\\(([0-9 ]*)\\)`).exec(m![2]!)?.[1] ?? "")
          .split(" ")
          .filter(Boolean)
          .map(Number);
      const all = [...cols("stringcols"), ...cols("numericcols")].sort((a, b) => a - b);
      if (all.join() !== header.map((_, k) => k + 1).join())
        problems.push(
          `${where}: stringcols/numericcols do not cover ${m[1]}'s ${header.length} columns`,
        );
      vars = header.map((_, k) => `v${k + 1}`);
    } else if ((m = /^if c\(k\) != (\d+) \{$/.exec(c))) {
      if (Number(m[1]) !== vars.length)
        problems.push(`${where}: c(k) check ${m[1]} vs ${vars.length}`);
    } else if ((m = /^rename \(([^)]*)\) \(([^)]*)\)$/.exec(c))) {
      const from = m[1]!.split(" ");
      const to = m[2]!.split(" ");
      if (from.length !== to.length) problems.push(`${where}: rename lists differ in length`);
      from.forEach((f) => need(f, where));
      to.forEach((t) => valid(t, where));
      if (new Set(to).size !== to.length) problems.push(`${where}: duplicate names`);
      vars = vars.map((v) => to[from.indexOf(v)] ?? v);
    } else if ((m = /^rename (\S+) (\S+)$/.exec(c))) {
      need(m[1]!, where);
      valid(m[2]!, where);
      vars = vars.map((v) => (v === m![1] ? m![2]! : v));
    } else if ((m = /^generate (?:long|double|byte) (\S+) = (.*)$/.exec(c))) {
      valid(m[1]!, where);
      if (vars.includes(m[1]!)) problems.push(`${where}: ${m[1]} already exists`);
      for (const ref of stripStrings(m[2]!).matchAll(/\b([a-z_][A-Za-z0-9_]*)\b(?!\()/g))
        if (!["if", "S"].includes(ref[1]!)) need(ref[1]!, where);
      vars.push(m[1]!);
    } else if ((m = /^replace (\S+) = \S+ if (\S+) == /.exec(c))) {
      need(m[1]!, where);
      need(m[2]!, where);
    } else if ((m = /^order (\S+), after\((\S+)\)$/.exec(c))) {
      need(m[1]!, where);
      need(m[2]!, where);
    } else if ((m = /^drop (\S+)$/.exec(c))) {
      need(m[1]!, where);
      vars = vars.filter((v) => v !== m![1]);
    } else if ((m = /^keep if (\S+)$/.exec(c))) {
      need(m[1]!, where);
    } else if ((m = /^label define (\S+) (.*), replace$/.exec(c))) {
      valid(m[1]!, where);
      const pairs = stripStrings(m[2]!)
        .split(" S")
        .filter((x) => x.trim() !== "");
      for (const p of pairs)
        if (!/^-?\d+$/.test(p.trim()))
          problems.push(`${where}: value label code ${p} is not whole`);
      labels.add(m[1]!);
    } else if ((m = /^label values (\S+) (\S+)$/.exec(c))) {
      need(m[1]!, where);
      if (!labels.has(m[2]!)) problems.push(`${where}: label ${m[2]} is not defined`);
    } else if ((m = /^label variable (\S+) `"(.*)"'$/.exec(c))) {
      need(m[1]!, where);
      if ([...m[2]!.replace(/\\\$/g, "$")].length > 80)
        problems.push(`${where}: label over 80 characters`);
    } else if ((m = /^notes (\S+): /.exec(c))) {
      need(m[1]!, where);
    } else if ((m = /^collapse \(max\) (.*), by\((.*)\)$/.exec(c))) {
      const stats = m[1]!.split(" ");
      const by = m[2]!.split(" ");
      [...stats, ...by].forEach((v) => need(v, where));
      vars = [...by, ...stats];
    } else if (
      /^(version 16|clear|exit 459|\}|display as error .*|save "[a-z_]+\.dta", replace|use "scores_wide\.dta", clear)$/.test(
        c,
      )
    ) {
      // fine
    } else {
      problems.push(`${where}: unexpected command ${c}`);
    }
  }
  return problems;
}
