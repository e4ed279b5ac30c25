// Hand-built instruments for the engine tests (neutral placeholder wording, no licensed text).
import { parseExpr } from "../../../src/study/expr.js";
import type { Instrument, Item } from "../../../src/study/model.js";

type ItemSpec = Partial<Omit<Item, "showIf">> & { id: string; showIf?: string };

const scale3 = [0, 1, 2].map((value) => ({ value, label: { en: `option ${value}` } }));

export function choice(id: string, spec: Omit<ItemSpec, "id" | "type"> = {}): ItemSpec {
  return { id, type: "choice", ...spec };
}
export function num(
  id: string,
  min: number,
  max: number,
  spec: Omit<ItemSpec, "id" | "type"> = {},
): ItemSpec {
  return { id, type: "number", min, max, ...spec };
}
export function text(id: string, spec: Omit<ItemSpec, "id" | "type"> = {}): ItemSpec {
  return { id, type: "text", required: false, ...spec };
}

export function makeItem(spec: ItemSpec): Item {
  const type = spec.type ?? "choice";
  const options = spec.options ?? (type === "choice" ? scale3 : []);
  return {
    id: spec.id,
    type,
    min: spec.min ?? (type === "choice" ? 0 : null),
    max: spec.max ?? (type === "choice" ? 2 : null),
    reverse: spec.reverse ?? false,
    subscale: spec.subscale ?? null,
    required: spec.required ?? true,
    text: spec.text ?? { en: `Question ${spec.id}` },
    options,
    showIf: spec.showIf ? parseExpr(spec.showIf) : null,
    showIfSource: spec.showIf ?? null,
  };
}

let counter = 0;

/** Each call gets a distinct hash unless one is given, so compiled machines are not shared by accident. */
export function makeInstrument(items: ItemSpec[], extra: Partial<Instrument> = {}): Instrument {
  counter += 1;
  return {
    id: extra.id ?? "test-instrument",
    version: 1,
    hash: extra.hash ?? `${counter.toString(16).padStart(8, "0")}${"ab".repeat(28)}`,
    title: { en: "Test instrument" },
    intro: null,
    respondent: extra.respondent ?? "parent",
    transform: "none",
    minAnsweredFraction: 0.5,
    subscales: [],
    items: items.map(makeItem),
    file: "test",
    ...extra,
  };
}
