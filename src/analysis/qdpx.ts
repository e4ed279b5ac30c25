// The notes and interviews as a REFI-QDA project (.qdpx), so researchers can go on coding them in
// NVivo, ATLAS.ti, MAXQDA or QualCoder. A .qdpx is a zip holding project.qde (XML in the namespace
// urn:QDA-XML:project:1.0, element order as in the standard's Project.xsd) and a folder Sources
// with the source files, referenced as internal://<file>.
//
// What goes in:
// - Users: the facilitators who wrote notes, as pseudonymous "facilitator-<n>";
// - CodeBook: the study's codes (and any stored on notes but no longer in study.yaml), codable,
//   named by their label, with the code id and every locale's label in the Description;
// - Variables and Cases: one case per child (named by the participant code) with arm, group,
//   gender and age, linked to the child's sources;
// - Sources: one plain-text source per note or interview (UTF-8 without BOM), with the variables
//   participant, arm, group, kind and session, and, when the facilitator chose codes, one
//   PlainTextSelection over the whole text (startPosition 0, endPosition = its length in Unicode
//   code points, as the standard counts) carrying one Coding per code.
//
// GUIDs are UUID v5 from the study id and Circle's ids (note id, code id, participant code), so a
// re-export gives every code, source and coding the same GUID and a QDA program can match them.
import { createHash } from "node:crypto";
import { zipSync } from "fflate";
import { t, type LoadedFlows } from "../study/model.js";
import { isoDate } from "./csv.js";
import { codePointLength, codeLabel, writeAtomically, type CodedNote } from "./qualitative.js";

export const QDA_NAMESPACE = "urn:QDA-XML:project:1.0";
/** The folder of source files inside the .qdpx, as in the standard's examples. */
export const SOURCES_FOLDER = "Sources";

/** Circle's own UUID namespace for v5 GUIDs (random, fixed forever). */
const CIRCLE_NAMESPACE = "3f5d8e2a-6c41-4b9e-8a07-d2c15e9b7f30";

/** RFC 4122 name-based UUID, version 5 (SHA-1). */
export function uuidV5(name: string, namespace: string = CIRCLE_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  if (ns.length !== 16) throw new Error(`not a UUID: ${namespace}`);
  const b = createHash("sha1").update(ns).update(name, "utf8").digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Colour-blind-safe first (Okabe–Ito), then more distinct hues for long codebooks.
const PALETTE = [
  "#E69F00",
  "#56B4E9",
  "#009E73",
  "#F0E442",
  "#0072B2",
  "#D55E00",
  "#CC79A7",
  "#999999",
  "#8C564B",
  "#17BECF",
  "#BCBD22",
  "#1F77B4",
];

// --- a minimal XML writer: elements, attributes, escaped text -------------------------------

type Attr = string | number | boolean | null | undefined;
interface XmlNode {
  name: string;
  attrs: Record<string, Attr>;
  children: (XmlNode | string)[];
}

const el = (name: string, attrs: Record<string, Attr> = {}, ...children: (XmlNode | string)[]) => ({
  name,
  attrs,
  children,
});

/** Drops what XML 1.0 cannot carry at all (control characters, lone surrogates), then escapes. */
function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function render(node: XmlNode, depth = 0): string {
  const pad = "  ".repeat(depth);
  const attrs = Object.entries(node.attrs)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlText(String(v))}"`)
    .join("");
  if (node.children.length === 0) return `${pad}<${node.name}${attrs}/>`;
  if (node.children.every((c) => typeof c === "string"))
    return `${pad}<${node.name}${attrs}>${xmlText(node.children.join(""))}</${node.name}>`;
  const inner = node.children
    .map((c) => (typeof c === "string" ? `${pad}  ${xmlText(c)}` : render(c, depth + 1)))
    .join("\n");
  return `${pad}<${node.name}${attrs}>\n${inner}\n${pad}</${node.name}>`;
}

/** xsd:dateTime in UTC, whole seconds. */
const dateTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

// --- the project -----------------------------------------------------------------------------

export interface QdpxOptions {
  now: Date;
  /** Language of code and project names (the study's default locale if not given). */
  locale?: string;
}

export interface QdpxProject {
  /** project.qde */
  xml: string;
  /** Zip paths (Sources/<guid>.txt) and their texts. */
  sources: { path: string; text: string }[];
  codings: number;
}

interface VariableDef {
  name: string;
  type: "Text" | "Integer";
}
const VARIABLES: VariableDef[] = [
  { name: "participant", type: "Text" },
  { name: "arm", type: "Text" },
  { name: "group", type: "Text" },
  { name: "gender", type: "Text" },
  { name: "age", type: "Integer" },
  { name: "kind", type: "Text" },
  { name: "session", type: "Integer" },
];

export function projectQde(
  notes: readonly CodedNote[],
  flows: LoadedFlows,
  opts: QdpxOptions,
): QdpxProject {
  const study = flows.study;
  const locale = opts.locale ?? study.defaultLocale;
  const guid = (kind: string, ...parts: (string | number)[]) =>
    uuidV5([study.id, kind, ...parts].join("/"));

  const users = [...new Set(notes.map((n) => n.author).filter((a) => a !== null))].sort(
    (a, b) => Number(a.split("-")[1]) - Number(b.split("-")[1]),
  );
  const userGuid = (u: string | null) => (u === null ? undefined : guid("user", u));

  const known = new Set(study.codes.map((c) => c.id));
  const unknown = [...new Set(notes.flatMap((n) => n.codes))].filter((c) => !known.has(c)).sort();
  const codeIds = [...study.codes.map((c) => c.id), ...unknown];
  const codeGuid = (id: string) => guid("code", id);
  const codes = codeIds.map((id, i) => {
    const def = study.codes.find((c) => c.id === id);
    const labels = def
      ? Object.entries(def.label)
          .map(([loc, text]) => `${loc}: ${text}`)
          .join("; ")
      : "no longer in the study's codebook";
    return el(
      "Code",
      {
        guid: codeGuid(id),
        name: codeLabel(flows, id, locale),
        isCodable: true,
        color: PALETTE[i % PALETTE.length],
      },
      el("Description", {}, `Circle code ${id} (${labels})`),
    );
  });

  const varGuid = (name: string) => guid("variable", name);
  const value = (name: string, v: string | number | null) => {
    if (v === null || v === "") return null;
    const type = VARIABLES.find((x) => x.name === name)!.type;
    return el(
      "VariableValue",
      {},
      el("VariableRef", { targetGUID: varGuid(name) }),
      el(type === "Integer" ? "IntegerValue" : "TextValue", {}, String(v)),
    );
  };
  const present = <T>(xs: (T | null)[]) => xs.filter((x): x is T => x !== null);

  const sourceGuid = (n: CodedNote) => guid("note", n.id);
  const sources: QdpxProject["sources"] = [];
  let codings = 0;
  const textSources = notes.map((n) => {
    const g = sourceGuid(n);
    const file = `${g}.txt`;
    sources.push({ path: `${SOURCES_FOLDER}/${file}`, text: n.text });
    const created = dateTime(n.createdAt);
    const creatingUser = userGuid(n.author);
    const day = isoDate(n.createdAt) ?? "";
    const where = n.session
      ? `session ${n.session.number} of ${n.session.group}${n.session.heldOn ? ` (${n.session.heldOn})` : ""}`
      : "not tied to a session";
    const length = codePointLength(n.text);
    const selection =
      n.codes.length > 0 && length > 0
        ? [
            el(
              "PlainTextSelection",
              {
                guid: guid("selection", n.id),
                name: `${n.participant} ${n.kind} ${day}`,
                startPosition: 0,
                endPosition: length,
                creatingUser,
                creationDateTime: created,
              },
              ...n.codes.map((c) => {
                codings++;
                return el(
                  "Coding",
                  { guid: guid("coding", n.id, c), creatingUser, creationDateTime: created },
                  el("CodeRef", { targetGUID: codeGuid(c) }),
                );
              }),
            ),
          ]
        : [];
    return el(
      "TextSource",
      {
        guid: g,
        name: `${n.participant} ${n.kind} ${day} #${n.id}`,
        plainTextPath: `internal://${file}`,
        creatingUser,
        creationDateTime: created,
      },
      el("Description", {}, `${n.kind} on ${n.participant}, ${where}`),
      ...selection,
      ...present([
        value("participant", n.participant),
        value("arm", n.arm),
        value("group", n.group),
        value("kind", n.kind),
        value("session", n.session?.number ?? null),
      ]),
    );
  });

  // One case per child, carrying the child's variables and linking the child's sources.
  const children = new Map<string, CodedNote[]>();
  for (const n of notes) children.set(n.participant, [...(children.get(n.participant) ?? []), n]);
  const cases = [...children.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, own]) => {
      const first = own[0]!;
      return el(
        "Case",
        { guid: guid("case", code), name: code },
        ...present([
          value("arm", first.arm),
          value("group", first.group),
          value("gender", first.gender),
          value("age", first.age),
        ]),
        ...own.map((n) => el("SourceRef", { targetGUID: sourceGuid(n) })),
      );
    });

  const sections: XmlNode[] = [];
  if (users.length > 0)
    sections.push(
      el("Users", {}, ...users.map((u) => el("User", { guid: userGuid(u), name: u, id: u }))),
    );
  if (codes.length > 0) sections.push(el("CodeBook", {}, el("Codes", {}, ...codes)));
  if (notes.length > 0) {
    sections.push(
      el(
        "Variables",
        {},
        ...VARIABLES.map((v) =>
          el("Variable", { guid: varGuid(v.name), name: v.name, typeOfVariable: v.type }),
        ),
      ),
      el("Cases", {}, ...cases),
      el("Sources", {}, ...textSources),
    );
  }
  sections.push(
    el(
      "Description",
      {},
      `Exported by Circle from study ${study.id} on ${dateTime(opts.now)}. One source per facilitator ` +
        `note or interview; children appear by their pseudonymous participant codes only. Each ` +
        `source is coded as a whole with the codes the facilitator chose.`,
    ),
  );
  const project = el(
    "Project",
    {
      xmlns: QDA_NAMESPACE,
      name: t(study.title, locale, study.defaultLocale),
      origin: "Circle",
      creationDateTime: dateTime(opts.now),
    },
    ...sections,
  );
  return {
    xml: `<?xml version="1.0" encoding="utf-8"?>\n${render(project)}\n`,
    sources,
    codings,
  };
}

/** The .qdpx archive bytes. */
export function buildQdpx(
  notes: readonly CodedNote[],
  flows: LoadedFlows,
  opts: QdpxOptions,
): { zip: Uint8Array; sources: number; codings: number } {
  const p = projectQde(notes, flows, opts);
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = { "project.qde": enc.encode(p.xml) };
  for (const s of p.sources) files[s.path] = enc.encode(s.text);
  // A fixed time in the archive, so the same data give the same bytes apart from the XML's date.
  const zip = zipSync(files, { level: 6, mtime: opts.now });
  return { zip, sources: p.sources.length, codings: p.codings };
}

/** Writes the .qdpx file (whole or not at all). */
export function writeQdpx(
  flows: LoadedFlows,
  notes: readonly CodedNote[],
  file: string,
  opts: QdpxOptions,
): { file: string; sources: number; codings: number } {
  const q = buildQdpx(notes, flows, opts);
  writeAtomically(file, q.zip);
  return { file, sources: q.sources, codings: q.codings };
}
