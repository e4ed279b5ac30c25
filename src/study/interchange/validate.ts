// The built instrument as YAML, checked by Circle's own loader (the same one `circle flows check`
// runs, translation gate included) against the study's locales, with each loader message turned
// back into the spreadsheet row it is about.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { Document } from "yaml";
import { loadFlows } from "../load.js";
import type { Instrument } from "../model.js";
import type { Built } from "./to-instrument.js";
import type { Issue, Origin } from "./source.js";

export function renderYaml(built: Built, header: string[]): string {
  const doc = new Document(built.raw);
  const raw = built.raw as {
    scales: Record<string, { options: unknown[] }>;
    subscales: unknown[];
  };
  // Short labels on one line, as in the shipped instruments.
  for (const [name, scale] of Object.entries(raw.scales))
    scale.options.forEach((_, j) => {
      const node = doc.getIn(["scales", name, "options", j, "label"], true) as
        { flow?: boolean } | undefined;
      if (node) node.flow = true;
    });
  raw.subscales.forEach((_, i) => {
    const node = doc.getIn(["subscales", i, "label"], true) as { flow?: boolean } | undefined;
    if (node) node.flow = true;
  });
  doc.commentBefore = header.map((l) => ` ${l}`).join("\n");
  return doc.toString({ lineWidth: 0 });
}

/** As the loader prints a file's name (relative to the working folder when inside it). */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

export interface Checked {
  /** Loader messages for the instrument, as "path: problem". */
  errors: string[];
  instrument: Instrument | null;
}

/** Loads `yaml` as an instrument of a study with this study.yaml, alone in a scratch folder. */
export function checkWithLoader(yaml: string, id: string, studyFile: string): Checked {
  const dir = mkdtempSync(join(tmpdir(), "circle-interchange-"));
  try {
    copyFileSync(studyFile, join(dir, "study.yaml"));
    mkdirSync(join(dir, "instruments"));
    const file = join(dir, "instruments", `${id}.yaml`);
    writeFileSync(file, yaml);
    const r = loadFlows({ flowsDir: dir });
    const prefix = `${displayPath(file)}: `;
    // The study names instruments that are not in the scratch folder: its errors are not ours.
    const errors = r.ok
      ? []
      : r.errors.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
    const instrument =
      (r.ok ? r.flows.instrumentList : r.instruments).find((i) => i.id === id) ?? null;
    return { errors, instrument: errors.length === 0 ? instrument : null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "items[3].text: missing translation "zh"" → "survey row 5 (q1): label: missing translation …". */
export function placeError(line: string, origins: Map<string, Origin>, file: string): Issue {
  const sep = line.indexOf(": ");
  const path = sep < 0 ? "" : line.slice(0, sep);
  let message = sep < 0 ? line : line.slice(sep + 2);
  let best: string | undefined;
  for (const key of origins.keys())
    if (
      (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) &&
      (best === undefined || key.length > best.length)
    )
      best = key;
  if (best === undefined) return { where: file, message: `${path}: ${message}` };
  const origin = origins.get(best)!;
  const rest = path.slice(best.length).replace(/^\./, "");
  const field = rest === "" ? (/[.[]/.test(best) ? "" : best) : rest.split(/[.[]/)[0]!;
  const tail = rest === "" ? "" : rest.slice(field.length).replace(/^\./, "");
  const column = field === "" ? "" : (origin.field[field] ?? field);
  const missing = /^missing translation "(.+)"$/.exec(message);
  if (missing) message += ` (${origin.translate(missing[1]!)})`;
  const blankLoc = /^blank translation "(.+)"$/.exec(message);
  if (blankLoc) message += ` (${origin.translate(blankLoc[1]!)})`;
  const at = column === "" ? "" : `${column}${tail && !missing && !blankLoc ? `.${tail}` : ""}: `;
  return { where: origin.where, message: `${at}${message}` };
}
