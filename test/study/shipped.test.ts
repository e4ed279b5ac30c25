// The flows Circle ships: they load, and they have the structure the study protocol describes.
import { describe, expect, it } from "vitest";
import { loadFlows } from "../../src/study/load.js";
import type { Instrument, LoadedFlows } from "../../src/study/model.js";

function shipped(): LoadedFlows {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(`shipped flows do not load:\n${r.errors.join("\n")}`);
  return r.flows;
}
const flows = shipped();
const ins = (id: string): Instrument => {
  const i = flows.instruments.get(id);
  if (!i) throw new Error(`no instrument ${id}`);
  return i;
};
const DIMENSIONS = [
  "active_expression",
  "peer_acceptance",
  "group_integration",
  "social_learning",
  "behaviour_patterns",
  "interpersonal_cognition",
];
const scored = (i: Instrument) => i.items.filter((it) => it.subscale !== null);
const optional = (i: Instrument) => i.items.filter((it) => it.type === "text");
const CJK = /[\u4e00-\u9fff]/;

describe("shipped flows", () => {
  it("load without errors, with the seven instruments", () => {
    expect(loadFlows({ flowsDir: "flows" }).ok).toBe(true);
    expect(flows.instrumentList.map((i) => i.id).sort()).toEqual([
      "facilitator-reflection",
      "group-satisfaction",
      "observation",
      "qol-proxy",
      "session-satisfaction",
      "social-skills",
      "social-skills-child",
    ]);
  });

  it("have every item and option in English and in Chinese (and the Chinese is not a copy)", () => {
    for (const i of flows.instrumentList) {
      for (const it of i.items) {
        expect(it.text.en, `${i.id}.${it.id}`).toMatch(/[A-Za-z]/);
        expect(it.text.zh, `${i.id}.${it.id}`).toMatch(CJK);
        for (const o of it.options) {
          expect(o.label.en).toBeTruthy();
          expect(o.label.zh).toBeTruthy();
        }
      }
      expect(i.title.zh).toMatch(CJK);
    }
  });

  it("qol-proxy: parent proxy, 8/5/5/5 items answered 0-4, all reverse-keyed, 0-100", () => {
    const q = ins("qol-proxy");
    expect(q.respondent).toBe("parent");
    expect(q.transform).toBe("0-100");
    expect(q.minAnsweredFraction).toBe(0.5);
    expect(q.subscales.map((s) => [s.id, s.items.length])).toEqual([
      ["physical", 8],
      ["emotional", 5],
      ["social", 5],
      ["school", 5],
    ]);
    expect(q.items).toHaveLength(23);
    for (const it of q.items) {
      expect(it).toMatchObject({ type: "choice", min: 0, max: 4, reverse: true, required: true });
      expect(it.options.map((o) => o.value)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("social-skills: parent, the six dimensions with 4-5 items each, 1-5, some reverse-keyed", () => {
    const s = ins("social-skills");
    expect(s.respondent).toBe("parent");
    expect(s.transform).toBe("none");
    expect(s.minAnsweredFraction).toBe(0.5);
    expect(s.subscales.map((x) => x.id)).toEqual(DIMENSIONS);
    for (const sub of s.subscales) {
      expect(sub.items.length).toBeGreaterThanOrEqual(4);
      expect(sub.items.length).toBeLessThanOrEqual(5);
    }
    for (const it of s.items) expect(it).toMatchObject({ min: 1, max: 5 });
    const reversed = s.items.filter((it) => it.reverse).length;
    expect(reversed).toBeGreaterThan(0);
    expect(reversed).toBeLessThan(s.items.length / 2);
  });

  it("session-satisfaction: four 0-10 items in one subscale, 0 and 10 anchored, plus optional text", () => {
    const s = ins("session-satisfaction");
    expect(s.respondent).toBe("parent");
    expect(s.subscales).toEqual([
      expect.objectContaining({
        id: "satisfaction",
        items: ["relationship", "goals", "approach", "overall"],
      }),
    ]);
    for (const it of scored(s)) {
      expect(it.options.map((o) => o.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      for (const o of it.options.slice(1, 10))
        expect(o.label).toEqual({ en: String(o.value), zh: String(o.value) });
      expect(it.options[0]!.label.en).toMatch(/^0\D/);
      expect(it.options[10]!.label.en).toMatch(/^10\D/);
    }
    expect(optional(s)).toEqual([
      expect.objectContaining({ id: "comment", required: false, subscale: null }),
    ]);
  });

  it("facilitator-reflection: facilitator, three 1-5 ratings incl. the session overall, optional prompts", () => {
    const r = ins("facilitator-reflection");
    expect(r.respondent).toBe("facilitator");
    expect(scored(r).map((it) => [it.id, it.min, it.max, it.required])).toEqual([
      ["engagement", 1, 5, true],
      ["climate", 1, 5, true],
      ["overall", 1, 5, true],
    ]);
    expect(optional(r).map((it) => [it.id, it.required])).toEqual([
      ["went_well", false],
      ["difficulties", false],
      ["moments", false],
      ["next_time", false],
    ]);
  });

  it("observation: facilitator, one 1-5 item per dimension (each its own subscale), optional note", () => {
    const o = ins("observation");
    expect(o.respondent).toBe("facilitator");
    expect(o.subscales.map((s) => [s.id, s.items])).toEqual(DIMENSIONS.map((d) => [d, [d]]));
    for (const it of scored(o)) expect(it).toMatchObject({ min: 1, max: 5 });
    expect(optional(o)).toEqual([expect.objectContaining({ id: "note", required: false })]);
  });

  it("group-satisfaction: parent, 6-8 items 1-5 plus optional text", () => {
    const g = ins("group-satisfaction");
    expect(g.respondent).toBe("parent");
    expect(scored(g).length).toBeGreaterThanOrEqual(6);
    expect(scored(g).length).toBeLessThanOrEqual(8);
    for (const it of scored(g)) expect(it).toMatchObject({ min: 1, max: 5 });
    expect(optional(g)).toHaveLength(1);
    expect(optional(g)[0]!.required).toBe(false);
  });

  it("social-skills-child: child self-report, six 1-3 items, one per dimension, with a hand-over intro", () => {
    const c = ins("social-skills-child");
    expect(c.respondent).toBe("child");
    expect(c.items).toHaveLength(6);
    expect(c.subscales.map((s) => [s.id, s.items.length])).toEqual(DIMENSIONS.map((d) => [d, 1]));
    for (const it of c.items) expect(it.options.map((o) => o.value)).toEqual([1, 2, 3]);
    expect(c.intro?.en).toMatch(/hand the phone/i);
  });
});

describe("shipped study", () => {
  const s = flows.study;

  it("has two locales, two arms, pre, post and follow-up windows", () => {
    expect(s.locales).toEqual(["en", "zh"]);
    expect(s.arms.map((a) => a.id)).toEqual(["experimental", "control"]);
    expect(s.timepoints).toEqual([
      expect.objectContaining({
        id: "pre",
        window: { anchor: "first-session", openDays: -21, closeDays: 0 },
      }),
      expect.objectContaining({
        id: "post",
        window: { anchor: "last-session", openDays: 0, closeDays: 21 },
      }),
      expect.objectContaining({
        id: "follow-up",
        window: { anchor: "last-session", openDays: 90, closeDays: 120 },
      }),
    ]);
  });

  it("has six sessions; 4-6 work on behaviour patterns and interpersonal cognition", () => {
    expect(s.sessions.map((x) => x.number)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const x of s.sessions) {
      expect(x.focus.length).toBeGreaterThan(0);
      for (const f of x.focus) expect(DIMENSIONS).toContain(f);
    }
    for (const x of s.sessions.slice(3))
      expect(x.focus).toEqual(
        expect.arrayContaining(["behaviour_patterns", "interpersonal_cognition"]),
      );
  });

  it("assigns parent and child questionnaires at pre, post and follow-up, and parent ones only at pre for no-arm participants", () => {
    const at = (timepoint: string, arm: "experimental" | "control" | "none") =>
      s.assignments.timepoints.filter(
        (a) =>
          a.timepoint === timepoint &&
          (a.arms ?? ["experimental", "control", "none"]).includes(arm),
      );
    const union = (list: ReturnType<typeof at>, who: "parent" | "child") =>
      list.flatMap((a) => a[who]).sort();
    for (const tp of ["pre", "post", "follow-up"]) {
      for (const arm of ["experimental", "control"] as const) {
        expect(union(at(tp, arm), "parent")).toEqual(["qol-proxy", "social-skills"]);
        expect(union(at(tp, arm), "child")).toEqual(["social-skills-child"]);
      }
    }
    expect(union(at("pre", "none"), "parent")).toEqual(["qol-proxy", "social-skills"]);
    expect(union(at("pre", "none"), "child")).toEqual([]);
    expect(at("post", "none")).toEqual([]);
    expect(at("follow-up", "none")).toEqual([]);
  });

  it("assigns the session, observation and group-end instruments", () => {
    expect(s.assignments.afterSession).toEqual({
      parent: ["session-satisfaction"],
      child: [],
      facilitator: ["facilitator-reflection"],
    });
    expect(s.assignments.observation).toBe("observation");
    expect(s.assignments.groupEnd).toEqual({ parent: ["group-satisfaction"], child: [] });
  });

  it("has consent (version 1.1) and assent (1.0) texts that say no and stopping are allowed", () => {
    // 1.1 tells parents about the follow-up questionnaires; a changed text gets a new version.
    expect(s.consent.version).toBe("1.1");
    expect(s.consent.text.en).toMatch(/three months later/);
    expect(s.consent.text.zh).toMatch(/三个月后/);
    expect(s.assent.version).toBe("1.0");
    expect(s.consent.text.en).toMatch(/voluntary/i);
    expect(s.consent.text.en).toMatch(/\/withdraw/);
    expect(s.assent.text.en).toMatch(/You can say no/);
    expect(s.assent.text.zh).toMatch(/不/);
    // Each text goes out as one Telegram message (4096 characters at most).
    for (const text of [s.consent.text, s.assent.text])
      for (const loc of s.locales) expect(text[loc]!.length).toBeLessThan(4096);
  });

  it("has the qualitative codes, default thresholds and a keep-data withdrawal policy with a text", () => {
    expect(s.codes.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        "peer_support",
        "withdrawal",
        "initiative",
        "conflict",
        "emotion_expression",
        "illness_talk",
        "family",
        "humour",
      ]),
    );
    expect(s.thresholds).toEqual({
      satisfactionTotalBelow: 36,
      satisfactionItemBelow: 9,
      divergence: 0.3,
      smallCell: 5,
    });
    expect(s.withdrawal.data).toBe("keep");
    expect(s.withdrawal.text?.en).toMatch(/kept/);
    expect(s.withdrawal.text?.zh).toMatch(CJK);
  });
});
