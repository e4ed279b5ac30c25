// The REFI-QDA export (.qdpx): a zip with project.qde and Sources/; the XML is well-formed, in the
// standard's namespace, with the element order, required attributes and value patterns of its
// Project.xsd (2019-03, checked here by hand from the schema's structure); every reference points
// at something that exists; each coded note is one whole-text selection whose end is the text's
// length in Unicode code points; texts are UTF-8 (Chinese, an emoji) without BOM; GUIDs are
// stable across re-exports; no nickname or Telegram id anywhere in the archive.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCodedNotes } from "../../src/analysis/qualitative.js";
import { buildQdpx, QDA_NAMESPACE, uuidV5 } from "../../src/analysis/qdpx.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";
import {
  flows,
  NICK_CJK,
  NICK_LATIN,
  seedNotes,
  TELEGRAM_ID_1,
  TELEGRAM_ID_2,
  type Seeded,
} from "./qualitative-seed.js";

const NOW = new Date("2025-05-01T12:00:00Z");
let t: TempDb;
let seeded: Seeded;

beforeEach(async () => {
  t = await tempDatabase();
  seeded = await seedNotes(t.db);
});
afterEach(async () => t.cleanup());

interface Node {
  name: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

/** project.qde as a tree in document order (fast-xml-parser's preserveOrder form). */
function parseTree(xml: string): Node {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    preserveOrder: true,
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
  });
  type Raw = Record<string, unknown> & { ":@"?: Record<string, string> };
  const convert = (raw: Raw): Node | null => {
    const name = Object.keys(raw).find((k) => k !== ":@")!;
    if (name === "#text" || name === "?xml") return null;
    const kids = raw[name] as Raw[];
    return {
      name,
      attrs: raw[":@"] ?? {},
      children: kids.map(convert).filter((n): n is Node => n !== null),
      text: kids
        .filter((k) => "#text" in k)
        .map((k) => String(k["#text"]))
        .join(""),
    };
  };
  const roots = (parser.parse(xml) as Raw[]).map(convert).filter((n): n is Node => n !== null);
  expect(roots).toHaveLength(1);
  return roots[0]!;
}

const all = (n: Node): Node[] => [n, ...n.children.flatMap(all)];

// The project schema's content models (sequence order) and required attributes for the
// elements Circle writes; anything else in the file is an error.
const CHILDREN: Record<string, string[]> = {
  Project: [
    "Users",
    "CodeBook",
    "Variables",
    "Cases",
    "Sources",
    "Notes",
    "Links",
    "Sets",
    "Graphs",
    "Description",
    "NoteRef",
  ],
  Users: ["User"],
  User: [],
  CodeBook: ["Codes"],
  Codes: ["Code"],
  Code: ["Description", "NoteRef", "Code"],
  Variables: ["Variable"],
  Variable: ["Description"],
  Cases: ["Case"],
  Case: ["Description", "CodeRef", "VariableValue", "SourceRef", "SelectionRef"],
  VariableValue: ["VariableRef", "TextValue", "IntegerValue"],
  VariableRef: [],
  TextValue: [],
  IntegerValue: [],
  SourceRef: [],
  Sources: ["TextSource"],
  TextSource: [
    "Description",
    "PlainTextContent",
    "PlainTextSelection",
    "Coding",
    "NoteRef",
    "VariableValue",
  ],
  PlainTextSelection: ["Description", "Coding", "NoteRef"],
  Coding: ["CodeRef", "NoteRef"],
  CodeRef: [],
  Description: [],
};
const REQUIRED: Record<string, string[]> = {
  Project: ["name"],
  User: ["guid"],
  Code: ["guid", "name", "isCodable"],
  Variable: ["guid", "name", "typeOfVariable"],
  Case: ["guid"],
  TextSource: ["guid"],
  PlainTextSelection: ["guid", "startPosition", "endPosition"],
  Coding: ["guid"],
  CodeRef: ["targetGUID"],
  SourceRef: ["targetGUID"],
  VariableRef: ["targetGUID"],
};
const GUID = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const RGB = /^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function checkStructure(root: Node) {
  expect(root.name).toBe("Project");
  expect(root.attrs.xmlns).toBe(QDA_NAMESPACE);
  for (const n of all(root)) {
    const allowed = CHILDREN[n.name];
    expect(allowed, `element ${n.name}`).toBeDefined();
    let last = -1;
    for (const c of n.children) {
      const i = allowed!.indexOf(c.name);
      expect(i, `${c.name} inside ${n.name}`).toBeGreaterThanOrEqual(0);
      expect(i, `${c.name} after a later sibling in ${n.name}`).toBeGreaterThanOrEqual(last);
      last = i;
    }
    for (const a of REQUIRED[n.name] ?? []) expect(n.attrs[a], `${n.name}@${a}`).toBeTruthy();
    for (const a of ["guid", "targetGUID", "creatingUser", "creatingUserGUID"])
      if (n.attrs[a] !== undefined) expect(n.attrs[a]).toMatch(GUID);
    if (n.attrs.creationDateTime !== undefined) expect(n.attrs.creationDateTime).toMatch(DATETIME);
    if (n.name === "Code") {
      expect(n.attrs.color).toMatch(RGB);
      expect(["true", "false"]).toContain(n.attrs.isCodable);
    }
    if (n.name === "Variable") expect(["Text", "Integer"]).toContain(n.attrs.typeOfVariable);
    if (n.name === "VariableValue") expect(n.children).toHaveLength(2);
    if (n.name === "Coding") expect(n.children.filter((c) => c.name === "CodeRef")).toHaveLength(1);
  }
}

async function exportOnce(now = NOW) {
  const notes = await loadCodedNotes(t.db, flows);
  const q = buildQdpx(notes, flows, { now });
  const entries = unzipSync(q.zip);
  const xml = new TextDecoder("utf-8", { fatal: true }).decode(entries["project.qde"]!);
  return { notes, q, entries, xml, root: parseTree(xml) };
}

describe("the .qdpx project", () => {
  it("is a well-formed project.qde with the standard's structure and working references", async () => {
    const { root, xml, q } = await exportOnce();
    expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>')).toBe(true);
    expect(XMLValidator.validate(xml)).toBe(true);
    checkStructure(root);
    const nodes = all(root);
    const of = (name: string) => nodes.filter((n) => n.name === name);
    const guids = nodes.map((n) => n.attrs.guid).filter((g) => g !== undefined);
    expect(new Set(guids).size).toBe(guids.length);

    const codeGuids = new Set(of("Code").map((c) => c.attrs.guid));
    expect(of("Code").map((c) => c.attrs.name)).toEqual([
      ...flows.study.codes.map((c) => c.label.en),
      "old_code",
    ]);
    for (const ref of of("Coding").flatMap((c) => c.children))
      if (ref.name === "CodeRef") expect(codeGuids.has(ref.attrs.targetGUID)).toBe(true);
    const sourceGuids = new Set(of("TextSource").map((s) => s.attrs.guid));
    for (const ref of of("SourceRef")) expect(sourceGuids.has(ref.attrs.targetGUID)).toBe(true);
    const variableGuids = new Set(of("Variable").map((v) => v.attrs.guid));
    for (const ref of of("VariableRef")) expect(variableGuids.has(ref.attrs.targetGUID)).toBe(true);
    const users = of("User");
    expect(users.map((u) => u.attrs.name)).toEqual(["facilitator-1", "facilitator-2"]);
    const userGuids = new Set(users.map((u) => u.attrs.guid));
    for (const n of nodes)
      if (n.attrs.creatingUser !== undefined)
        expect(userGuids.has(n.attrs.creatingUser)).toBe(true);

    // 8 sources; codings = the notes' codes: 2+1+1+2+2+0+2+1.
    expect(of("TextSource")).toHaveLength(8);
    expect(of("Coding")).toHaveLength(11);
    expect(q).toMatchObject({ sources: 8, codings: 11 });
    // Cases: one per child, each source under exactly one case.
    expect(of("Case").map((c) => c.attrs.name)).toEqual(["C-01", "C-02", "E-01", "E-02", "E-03"]);
    expect(of("SourceRef")).toHaveLength(8);
  });

  it("has one UTF-8 source file per note, coded as a whole in code points", async () => {
    const { root, entries, notes } = await exportOnce();
    const dec = new TextDecoder("utf-8", { fatal: true });
    const codeName = new Map(
      all(root)
        .filter((n) => n.name === "Code")
        .map((c) => [c.attrs.guid, c.attrs.name]),
    );
    const sources = all(root).filter((n) => n.name === "TextSource");
    const files = Object.keys(entries).filter((k) => k !== "project.qde");
    expect(files).toHaveLength(sources.length);
    for (const src of sources) {
      const m = /^internal:\/\/([0-9a-f-]+\.txt)$/.exec(src.attrs.plainTextPath ?? "");
      expect(m, src.attrs.plainTextPath).not.toBeNull();
      const bytes = entries[`Sources/${m![1]}`];
      expect(bytes, `Sources/${m![1]}`).toBeDefined();
      expect([...bytes!.slice(0, 3)]).not.toEqual([0xef, 0xbb, 0xbf]);
      const text = dec.decode(bytes!);
      const id = Number(/#(\d+)$/.exec(src.attrs.name!)![1]);
      const note = notes.find((n) => n.id === id)!;
      expect(text).toBe(note.text);
      const selections = src.children.filter((c) => c.name === "PlainTextSelection");
      if (note.codes.length === 0) {
        expect(selections).toHaveLength(0);
        continue;
      }
      expect(selections).toHaveLength(1);
      const sel = selections[0]!;
      const start = Number(sel.attrs.startPosition);
      const end = Number(sel.attrs.endPosition);
      expect(start).toBe(0);
      expect(end).toBe(Array.from(text).length);
      expect(end).toBeLessThanOrEqual(text.length);
      const labels = sel.children
        .filter((c) => c.name === "Coding")
        .map((c) => codeName.get(c.children[0]!.attrs.targetGUID));
      expect(labels).toEqual(
        note.codes.map((c) => flows.study.codes.find((x) => x.id === c)?.label.en ?? c),
      );
    }
    // The interview with Chinese text and an emoji: positions count code points, not UTF-16 units.
    const interview = notes.find((n) => n.id === seeded.noteIds[3])!;
    expect(interview.text).toContain("我交了一个朋友");
    const src = sources.find((s) => s.attrs.name!.endsWith(`#${interview.id}`))!;
    const sel = src.children.find((c) => c.name === "PlainTextSelection")!;
    expect(Number(sel.attrs.endPosition)).toBe(interview.text.length - 1);
    // The note without an author has no creatingUser.
    const imported = sources.find((s) => s.attrs.name!.endsWith(`#${seeded.noteIds[7]}`))!;
    expect(imported.attrs.creatingUser).toBeUndefined();
  });

  it("keeps every GUID and source file on a re-export, also after new notes", async () => {
    const first = await exportOnce(NOW);
    await t.db.note.create({
      data: {
        participantId: (await t.db.participant.findUniqueOrThrow({ where: { code: "E-03" } })).id,
        kind: "note",
        text: "Joined in at last",
        codes: JSON.stringify(["initiative"]),
        createdAt: new Date("2025-04-01T10:00:00Z"),
      },
    });
    const second = await exportOnce(new Date("2025-06-01T00:00:00Z"));
    const guidsOf = (root: Node) =>
      all(root)
        .map((n) => n.attrs.guid)
        .filter((g) => g !== undefined);
    const before = guidsOf(first.root);
    const after = new Set(guidsOf(second.root));
    for (const g of before) expect(after.has(g)).toBe(true);
    // The new note adds its source, selection and coding (E-03 already has a case).
    expect(after.size).toBe(before.length + 3);
    for (const [name, bytes] of Object.entries(first.entries))
      if (name !== "project.qde") expect(second.entries[name]).toEqual(bytes);
  });

  it("uses RFC 4122 version-5 GUIDs", () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
    expect(uuidV5("python.org", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "886313e1-3b8a-5372-9b90-0c9aee199e5d",
    );
    // Python: uuid.uuid5(uuid.NAMESPACE_URL, "https://例え.jp/ü") (UTF-8 names).
    expect(uuidV5("https://例え.jp/ü", "6ba7b811-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "c629319a-f7d1-511d-9fc4-a6a18d5eab4b",
    );
  });

  it("is written by circle report --codes --qdpx, audited, with no nickname or Telegram id inside", async () => {
    const file = join(t.dir, "circle.qdpx");
    const r = await runCircle(t.url, ["report", "--codes", "--qdpx", file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${file} (8 sources, 11 codings)`);
    const entries = unzipSync(new Uint8Array(readFileSync(file)));
    const everything = Object.values(entries)
      .map((b) => new TextDecoder().decode(b))
      .join("\n");
    for (const secret of [NICK_LATIN, NICK_CJK, TELEGRAM_ID_1, TELEGRAM_ID_2])
      expect(everything.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(everything).toContain("[E-01]");
    expect(everything).toContain("[C-01]说起了化疗 & <chemo>"); // the source file, verbatim
    expect(await t.db.auditEvent.count({ where: { action: "export.qdpx" } })).toBe(1);
  });
});
