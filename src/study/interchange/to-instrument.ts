// A form read from XLSForm or REDCap (source.ts) → a Circle instrument file (the YAML tree), with
// a map from each YAML path to the spreadsheet row it came from. Whether the result is a valid
// instrument is decided by Circle's own loader afterwards (validate.ts), not here.
import type { Localized } from "../schema.js";
import { printCircle, toCircle, type Resolved } from "./logic.js";
import type { Expr } from "../expr.js";
import type { Origin, SourceForm, SourceList, SourceQuestion } from "./source.js";

const ID = /^[a-z][a-z0-9_-]{0,39}$/;

/** A source name as a Circle id: lowercase, other characters as "_", starting with a letter. */
export function circleId(name: string): string | null {
  let s = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "_");
  if (s !== "" && !/^[a-z]/.test(s)) s = `q${s}`;
  return ID.test(s) ? s : null;
}

const ID_RULE = "lowercase letters, digits, _ and -, starting with a letter, at most 40 characters";

export interface Built {
  /** The instrument file as a plain tree, keys in the order the YAML shows them. */
  raw: Record<string, unknown>;
  /** YAML path prefix ("items[3]", "scales.agree5.options[1]", "title") → where it came from. */
  origins: Map<string, Origin>;
}

const NUMBER = /^-?(\d+(\.\d+)?|\.\d+)$/;

export function buildInstrument(form: SourceForm, locales: string[]): Built | null {
  const iss = form.issues;
  const origins = new Map<string, Origin>();
  const settings = form.settings;
  for (const key of ["id", "version", "respondent", "transform", "minAnsweredFraction", "cutoff"])
    origins.set(key, settings);
  origins.set("title", settings);
  origins.set("intro", form.introOrigin ?? settings);
  origins.set("scale", settings);

  const id = circleId(form.id);
  if (id === null)
    iss.error(
      settings.where,
      `"${form.id}" cannot be an instrument id (${ID_RULE}); set ${settings.field.id ?? "the id"}`,
    );
  else if (id !== form.id)
    iss.note(settings.where, `form id "${form.id}" becomes instrument id "${id}"`);

  // ---- question ids --------------------------------------------------------------------------
  const qids: (string | null)[] = [];
  const byId = new Map<string, SourceQuestion>();
  for (const q of form.questions) {
    const qid = q.id ?? circleId(q.name);
    qids.push(qid);
    if (qid === null) {
      iss.error(q.origin.where, `name "${q.name}" cannot be an item id (${ID_RULE})`);
      continue;
    }
    const prior = byId.get(qid);
    if (prior) iss.error(q.origin.where, `becomes item id "${qid}", as ${prior.origin.where} does`);
    byId.set(qid, q);
    if (q.id === null && qid !== q.name)
      iss.note(q.origin.where, `name "${q.name}" becomes item id "${qid}"`);
  }

  // ---- answer scales -------------------------------------------------------------------------
  const scales: Record<string, { min: number; max: number; options: unknown[] }> = {};
  const scaleOf = new Map<SourceList, string>();
  const signature = (l: SourceList) =>
    JSON.stringify(l.options.map((o) => [o.code.trim(), Object.entries(o.label).sort()]));
  const named = new Map<string, SourceList>();
  const unnamed = new Map<string, string>();
  let counter = 0;
  for (const q of form.questions) {
    if (q.kind !== "choice" || !q.list || scaleOf.has(q.list)) continue;
    const list = q.list;
    let name: string | null;
    if (list.name !== null) {
      name = circleId(list.name);
      if (name === null) {
        iss.error(list.origin.where, `list name "${list.name}" cannot be a scale id (${ID_RULE})`);
        continue;
      }
      const prior = named.get(name);
      if (prior && signature(prior) !== signature(list)) {
        iss.error(
          list.origin.where,
          `scale "${name}" has other choices here than at ${prior.origin.where}`,
        );
        continue;
      }
      named.set(name, list);
    } else {
      const sig = signature(list);
      name = unnamed.get(sig) ?? null;
      if (name === null) {
        do name = `scale${++counter}`;
        while (named.has(name) || name in scales);
        unnamed.set(sig, name);
      }
    }
    scaleOf.set(list, name);
    if (name in scales) continue;
    origins.set(`scales.${name}`, list.origin);
    const options: { value: number; label: Localized }[] = [];
    list.options.forEach((o, j) => {
      origins.set(`scales.${name}.options[${j}]`, o.origin);
      const code = o.code.trim();
      if (!NUMBER.test(code)) {
        iss.error(
          o.origin.where,
          `choice "${o.code}" is not a number; Circle stores and scores answers as numbers, so give the choices numeric codes (1, 2, 3 …)`,
        );
        return;
      }
      options.push({ value: Number(code), label: o.label });
    });
    const values = options.map((o) => o.value);
    scales[name] = {
      min: values.length ? Math.min(...values) : 0,
      max: values.length ? Math.max(...values) : 0,
      options,
    };
  }
  // The scale most questions use becomes the instrument's default (as in the shipped files).
  const uses = new Map<string, number>();
  for (const q of form.questions)
    if (q.list && scaleOf.has(q.list)) {
      const s = scaleOf.get(q.list)!;
      uses.set(s, (uses.get(s) ?? 0) + 1);
    }
  let defaultScale: string | undefined;
  for (const [s, n] of uses)
    if (defaultScale === undefined || n > uses.get(defaultScale)!) defaultScale = s;

  // ---- subscales -----------------------------------------------------------------------------
  const subscales: Record<string, unknown>[] = [];
  const subscaleIds = new Map<string, string>();
  const addSubscale = (name: string, label: Localized | null, cutoff: number | null, o: Origin) => {
    const sid = circleId(name);
    if (sid === null) {
      iss.error(o.where, `subscale "${name}" cannot be a subscale id (${ID_RULE})`);
      return;
    }
    if (subscaleIds.has(sid)) {
      iss.error(o.where, `subscale "${sid}" is declared twice (also ${subscaleIds.get(sid)})`);
      return;
    }
    subscaleIds.set(sid, o.where);
    let text = label;
    if (text === null || Object.keys(text).length === 0) {
      text = Object.fromEntries(locales.map((l) => [l, sid]));
      iss.note(o.where, `subscale "${sid}" has no label; its id is shown instead`);
    }
    origins.set(`subscales[${subscales.length}]`, o);
    subscales.push({ id: sid, label: text, ...(cutoff !== null ? { cutoff } : {}) });
  };
  for (const s of form.subscales) addSubscale(s.name, s.label, s.cutoff, s.origin);
  for (const q of form.questions) {
    if (q.subscale === null) continue;
    const sid = circleId(q.subscale);
    if (sid !== null && !subscaleIds.has(sid)) addSubscale(q.subscale, null, null, q.origin);
  }

  // ---- items ---------------------------------------------------------------------------------
  const kindOf = new Map<string, { index: number; id: string; kind: SourceQuestion["kind"] }>();
  form.questions.forEach((q, index) => {
    const qid = qids[index];
    if (qid) kindOf.set(q.name, { index, id: qid, kind: q.kind });
  });
  const items = form.questions.map((q, index) => {
    origins.set(`items[${index}]`, q.origin);
    const item: Record<string, unknown> = { id: qids[index] ?? q.name };
    if (q.kind !== "choice") item.type = q.kind;
    if (q.kind === "choice" && q.list && scaleOf.has(q.list)) {
      const s = scaleOf.get(q.list)!;
      if (s !== defaultScale) item.scale = s;
    }
    if (q.kind === "number") {
      if (q.min !== null) item.min = q.min;
      if (q.max !== null) item.max = q.max;
    }
    if (q.subscale !== null) item.subscale = circleId(q.subscale) ?? q.subscale;
    if (q.reverse) item.reverse = true;
    if (!q.required) item.required = false;
    item.text = mergeHint(q, iss);
    const showIf = conditions(q, index, kindOf, form);
    if (showIf !== null) item.showIf = printCircle(showIf);
    return item;
  });

  if (iss.errors.length > 0) return null;
  const raw: Record<string, unknown> = {
    id,
    version: form.version,
    title: form.title,
    ...(form.intro ? { intro: form.intro } : {}),
    respondent: form.respondent,
    transform: form.transform,
    minAnsweredFraction: form.minAnsweredFraction,
    ...(form.cutoff !== null ? { cutoff: form.cutoff } : {}),
    ...(defaultScale !== undefined ? { scale: defaultScale } : {}),
    scales,
    subscales,
    items,
  };
  return { raw, origins };
}

function mergeHint(q: SourceQuestion, iss: SourceForm["issues"]): Localized {
  if (!q.hint) return q.text;
  const out: Localized = { ...q.text };
  const merged: string[] = [];
  for (const [loc, hint] of Object.entries(q.hint)) {
    if (out[loc] === undefined) continue;
    out[loc] = `${out[loc]}\n${hint}`;
    merged.push(loc);
  }
  const without = Object.keys(q.text).filter((l) => !merged.includes(l));
  const col = q.origin.field.hint ?? "hint";
  if (merged.length > 0)
    iss.note(
      q.origin.where,
      `${col} added to the question text on a new line` +
        (without.length ? ` (in ${merged.join(", ")} only: no ${without.join(", ")} ${col})` : ""),
    );
  return out;
}

function conditions(
  q: SourceQuestion,
  index: number,
  known: Map<string, { index: number; id: string; kind: SourceQuestion["kind"] }>,
  form: SourceForm,
): Expr | null {
  const iss = form.issues;
  const col = q.origin.field.showIf ?? "skip logic";
  const parts: Expr[] = [];
  const lost: string[] = [];
  for (const c of q.conditions) {
    const dropped = (why: string) =>
      lost.push(
        `${col} "${c.source}"${c.where !== q.origin.where ? ` (of ${c.where})` : ""} is not carried over: ${why}`,
      );
    if ("error" in c.tree) {
      dropped(`cannot read it (${c.tree.error})`);
      continue;
    }
    const resolve = (name: string): Resolved => {
      const k = known.get(name);
      if (k) {
        if (k.index === index) return { status: "unusable", why: "is this question itself" };
        if (k.index > index)
          return {
            status: "unusable",
            why: "comes later (Circle skip logic may only use earlier questions)",
          };
        return { status: "ok", id: k.id, kind: k.kind };
      }
      const why = form.unusable.get(name);
      return why !== undefined ? { status: "unusable", why } : { status: "unknown" };
    };
    const r = toCircle(c.tree, resolve, form.syntax);
    if (r.ok) parts.push(r.expr);
    else if (r.unknown !== undefined) iss.error(q.origin.where, `${col} "${c.source}" ${r.reason}`);
    else dropped(r.reason);
  }
  for (const l of lost)
    iss.skip(
      q.origin.where,
      parts.length === 0
        ? `${l}; the question will be asked of everyone`
        : `${l}; the question is asked whenever the rest of its conditions hold`,
    );
  if (parts.length === 0) return null;
  return parts.reduce((left, right) => ({ kind: "and", left, right }));
}
