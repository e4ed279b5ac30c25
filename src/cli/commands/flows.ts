import { existsSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Option, type Command } from "commander";
import { loadFlows } from "../../study/load.js";
import {
  exportInstrument,
  FORMAT_NAME,
  FORMATS,
  formatOf,
  importInstrument,
  type Format,
} from "../../study/interchange/index.js";
import { CliFailure, UsageError } from "../context.js";
import type { GetContext } from "./index.js";

export function registerFlows(program: Command, ctx: GetContext): void {
  const flows = program
    .command("flows")
    .description("the study and instrument files (FLOWS_DIR, EXTRA_FLOWS_DIR)");
  flows
    .command("check")
    .description("validate every flow file and list all problems (file: path: problem)")
    .option("--json", "machine-readable output")
    .action((opts: { json?: boolean }) => {
      const c = ctx();
      const r = loadFlows({ flowsDir: c.config.FLOWS_DIR, extraDir: c.config.EXTRA_FLOWS_DIR });
      const list = r.ok ? r.flows.instrumentList : r.instruments;
      if (opts.json) {
        c.json({
          ok: r.ok,
          errors: r.ok ? [] : r.errors,
          instruments: list.map((i) => ({ id: i.id, hash: i.hash, items: i.items.length })),
        });
      }
      if (!r.ok) {
        throw new CliFailure(
          `flows have ${r.errors.length} error(s)`,
          opts.json ? undefined : r.errors.join("\n"),
        );
      }
      if (!opts.json) {
        for (const w of r.warnings) c.out(`warning: ${w}`);
        const items = list.reduce((n, i) => n + i.items.length, 0);
        c.out(
          `flows ok: ${list.length} instruments, ${items} items, locales ${r.flows.study.locales.join(", ")}`,
        );
      }
    });
  registerInterchange(flows, ctx);
}

// ---- flows import / flows export (XLSForm, REDCap): see src/study/interchange ------------------

/** Refuses to replace a file without --force; writes through a temporary file. */
function writeOut(file: string, data: Uint8Array | string, force: boolean | undefined): void {
  if (existsSync(file) && !force) throw new CliFailure(`${file} exists; add --force to replace it`);
  if (!existsSync(dirname(file)) || !statSync(dirname(file)).isDirectory())
    throw new CliFailure(`cannot write ${file}: the folder ${dirname(file)} does not exist`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

const list = (title: string, lines: string[]) =>
  lines.length === 0 ? [] : [`${title} (${lines.length}):`, ...lines.map((l) => `  ${l}`)];

function registerInterchange(flows: Command, ctx: GetContext): void {
  flows
    .command("import")
    .description("turn an XLSForm (.xlsx) or a REDCap data dictionary (.csv) into an instrument")
    .argument("<file>", "the XLSForm or data dictionary")
    .addOption(
      new Option("--from <format>", "the file's format (default: from .xlsx / .csv)").choices(
        FORMATS,
      ),
    )
    .option("--out <file>", "where to write the YAML (default: FLOWS_DIR/instruments/<id>.yaml)")
    .option("--form <name>", "REDCap: the form to take when the dictionary has several")
    .option("--lang <code>", "language of labels without one (default: the study's default)")
    .option("--force", "replace an existing --out file")
    .option("--dry-run", "check and report, write nothing")
    .option("--json", "machine-readable output")
    .action(
      async (
        file: string,
        opts: {
          from?: Format;
          out?: string;
          form?: string;
          lang?: string;
          force?: boolean;
          dryRun?: boolean;
          json?: boolean;
        },
      ) => {
        const from = opts.from ?? formatOf(file);
        if (!from)
          throw new UsageError(
            `cannot tell the format of ${file}; add --from xlsform or --from redcap`,
          );
        if (opts.form !== undefined && from !== "redcap")
          throw new UsageError("--form is for REDCap data dictionaries");
        if (opts.out && existsSync(opts.out) && !opts.force && !opts.dryRun)
          throw new CliFailure(`${opts.out} exists; add --force to replace it`);
        const c = ctx();
        const r = await importInstrument({
          file,
          from,
          flowsDir: c.config.FLOWS_DIR,
          extraDir: c.config.EXTRA_FLOWS_DIR,
          out: opts.out,
          form: opts.form,
          lang: opts.lang,
        });
        const out =
          r.id === null
            ? null
            : (opts.out ?? join(c.config.FLOWS_DIR, "instruments", `${r.id}.yaml`));
        if (r.ok && out !== null && !opts.dryRun) writeOut(out, r.yaml!, opts.force);
        if (opts.json)
          c.json({
            ok: r.ok,
            format: from,
            out: r.ok && !opts.dryRun ? out : null,
            instrument: r.instrument
              ? { id: r.instrument.id, hash: r.instrument.hash, items: r.instrument.items.length }
              : null,
            errors: r.errors,
            notCarriedOver: r.notCarried,
            notes: r.notes,
          });
        if (!r.ok)
          throw new CliFailure(
            `cannot import ${file}: ${r.errors.length} error(s); nothing was written`,
            opts.json ? undefined : r.errors.join("\n"),
          );
        if (opts.json) return;
        const ins = r.instrument!;
        c.out(
          [
            `imported "${ins.id}" from ${file} (${FORMAT_NAME[from]}): ${ins.items.length} items, ${ins.subscales.length} subscales`,
            opts.dryRun ? `dry run: nothing written (would write ${out})` : `wrote ${out}`,
            ...list("not carried over", r.notCarried),
            ...list("notes", r.notes),
          ].join("\n"),
        );
      },
    );

  flows
    .command("export")
    .description("write an instrument as an XLSForm (.xlsx) or a REDCap data dictionary (.csv)")
    .argument("<id>", "the instrument id")
    .addOption(
      new Option("--to <format>", "the format (default: from the --out extension)").choices(
        FORMATS,
      ),
    )
    .option("--out <file>", "the file (default: ./<id>.xlsx or ./<id>.csv; - prints a CSV)")
    .option("--force", "replace an existing --out file")
    .option("--json", "machine-readable output")
    .action(
      async (id: string, opts: { to?: Format; out?: string; force?: boolean; json?: boolean }) => {
        const to = opts.to ?? formatOf(opts.out);
        if (!to) throw new UsageError("choose a format: --to xlsform or --to redcap");
        const stdout = opts.out === "-";
        if (stdout && to === "xlsform")
          throw new UsageError("an XLSForm is a binary file; give --out <file>.xlsx");
        if (stdout && opts.json) throw new UsageError("--out - and --json cannot be combined");
        const out = opts.out ?? `${id}.${to === "xlsform" ? "xlsx" : "csv"}`;
        if (!stdout && existsSync(out) && !opts.force)
          throw new CliFailure(`${out} exists; add --force to replace it`);
        const c = ctx();
        const f = await c.flows();
        const ins = f.instruments.get(id);
        if (!ins)
          throw new CliFailure(
            `unknown instrument "${id}" (known: ${f.instrumentList.map((i) => i.id).join(", ")})`,
          );
        const r = await exportInstrument(f, ins, to);
        if (!r.ok) throw new CliFailure(`cannot export "${id}"`, r.errors.join("\n"));
        if (stdout) {
          c.out(r.data as string);
          return;
        }
        writeOut(out, r.data!, opts.force);
        if (opts.json) c.json({ ok: true, id, format: to, out, notes: r.notes });
        else
          c.out(
            [`exported "${id}" as ${FORMAT_NAME[to]} to ${out}`, ...list("notes", r.notes)].join(
              "\n",
            ),
          );
      },
    );
}
