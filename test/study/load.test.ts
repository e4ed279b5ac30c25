// Each validation rule rejects what it should, naming the exact file and path.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyFlows, errorsOf, type FlowsCopy } from "./support.js";

let f: FlowsCopy;
beforeEach(() => {
  f = copyFlows();
});
afterEach(() => f.cleanup());

const SS = "instruments/social-skills.yaml";
const QOL = "instruments/qol-proxy.yaml";
const SAT = "instruments/session-satisfaction.yaml";
const STUDY = "study.yaml";

/** `file: path: problem`, as the loader prints it for a file in the copy. */
const line = (rel: string, path: string, problem: string) => `${f.path(rel)}: ${path}: ${problem}`;

describe("the unmodified copy", () => {
  it("loads (so every failure below comes from the one deliberate mistake)", () => {
    expect(f.load().ok).toBe(true);
  });
});

describe("unique ids", () => {
  it("rejects a duplicate item id", () => {
    f.edit(SS, (d) => (d.items[1].id = "ae1"));
    expect(errorsOf(f.load())).toEqual([line(SS, "items[1].id", 'duplicate item id "ae1"')]);
  });

  it("rejects a duplicate subscale id", () => {
    f.edit(SS, (d) =>
      d.subscales.push({ id: "peer_acceptance", label: { en: "Again", zh: "重复" } }),
    );
    expect(errorsOf(f.load())).toContain(
      line(SS, "subscales[6].id", 'duplicate subscale id "peer_acceptance"'),
    );
  });

  it("rejects the same instrument id in two files, naming both", () => {
    f.write("instruments/qol-copy.yaml", f.read(QOL));
    expect(errorsOf(f.load())).toEqual([
      line(
        QOL,
        "id",
        `instrument "qol-proxy" is also defined in ${f.path("instruments/qol-copy.yaml")}`,
      ),
    ]);
  });

  it("rejects duplicate arms, timepoints, session numbers and codes in the study", () => {
    f.edit(STUDY, (d) => {
      d.timepoints.push({ ...d.timepoints[0] });
      d.codes.push({ ...d.codes[0] });
      d.sessions[5].number = 5;
    });
    const errors = errorsOf(f.load());
    expect(errors).toContain(line(STUDY, "timepoints[3]", 'duplicate timepoint "pre"'));
    expect(errors).toContain(line(STUDY, "codes[8]", 'duplicate code "peer_support"'));
    expect(errors).toContain(line(STUDY, "sessions[5]", "duplicate session number 5"));
    expect(errors).toContain(line(STUDY, "sessions", "session numbers must run 1..6 without gaps"));
  });
});

describe("subscales", () => {
  it("rejects an item naming an unknown subscale", () => {
    f.edit(SS, (d) => (d.items[3].subscale = "peer_acceptence"));
    expect(errorsOf(f.load())).toEqual([
      line(SS, "items[3].subscale", 'unknown subscale "peer_acceptence"'),
    ]);
  });

  it("rejects a subscale with no items", () => {
    f.edit(SS, (d) => d.subscales.push({ id: "spare", label: { en: "Spare", zh: "备用" } }));
    expect(errorsOf(f.load())).toEqual([line(SS, "subscales[6]", 'subscale "spare" has no items')]);
  });
});

describe("answer scales and options", () => {
  it("rejects an option value outside the scale's range", () => {
    f.edit(QOL, (d) => (d.scales.problem5.options[4].value = 5));
    expect(errorsOf(f.load())).toEqual([
      line(QOL, "scales.problem5.options[4].value", "value 5 is outside the scale's range 0–4"),
    ]);
  });

  it("rejects a non-numeric option value", () => {
    f.edit(QOL, (d) => (d.scales.problem5.options[3].value = "often"));
    expect(errorsOf(f.load())).toEqual([
      line(QOL, "scales.problem5.options[3].value", "answer values must be numeric"),
    ]);
  });

  it("rejects a duplicate option value", () => {
    f.edit(QOL, (d) => (d.scales.problem5.options[1].value = 0));
    expect(errorsOf(f.load())).toEqual([
      line(QOL, "scales.problem5.options[1].value", "duplicate answer value 0"),
    ]);
  });

  it("rejects a scale whose min is not below its max", () => {
    f.edit(QOL, (d) => (d.scales.problem5.max = 0));
    expect(errorsOf(f.load())).toContain(
      line(QOL, "scales.problem5", "min (0) must be below max (0)"),
    );
  });

  it("rejects a choice item naming an unknown scale", () => {
    f.edit(QOL, (d) => (d.items[2].scale = "problem7"));
    expect(errorsOf(f.load())).toEqual([line(QOL, "items[2].scale", 'unknown scale "problem7"')]);
  });
});

describe("item types", () => {
  it("rejects a number item without a range", () => {
    f.edit(SAT, (d) =>
      d.items.push({ id: "minutes", type: "number", text: { en: "Minutes", zh: "分钟" } }),
    );
    expect(errorsOf(f.load())).toEqual([line(SAT, "items[5]", "number items need min and max")]);
  });

  it("accepts a number item with a range", () => {
    f.edit(SAT, (d) =>
      d.items.push({
        id: "minutes",
        type: "number",
        min: 0,
        max: 120,
        text: { en: "Minutes", zh: "分钟" },
      }),
    );
    const r = f.load();
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.flows.instruments.get("session-satisfaction")?.items[5]).toMatchObject({
        min: 0,
        max: 120,
        options: [],
      });
  });

  it("rejects a text item in a scored subscale", () => {
    f.edit(SAT, (d) => (d.items[4].subscale = "satisfaction"));
    expect(errorsOf(f.load())).toEqual([
      line(SAT, "items[4].subscale", "text items cannot belong to a scored subscale"),
    ]);
  });

  it("rejects a reverse-keyed text item", () => {
    f.edit(SAT, (d) => (d.items[4].reverse = true));
    expect(errorsOf(f.load())).toEqual([
      line(SAT, "items[4].reverse", "text items cannot be reverse-keyed"),
    ]);
  });
});

describe("the translation gate", () => {
  it("rejects an instrument item without one of the study's locales", () => {
    f.edit(SS, (d) => delete d.items[0].text.zh);
    expect(errorsOf(f.load())).toEqual([line(SS, "items[0].text", 'missing translation "zh"')]);
  });

  it("covers option labels, subscale labels, titles and intros", () => {
    f.edit(QOL, (d) => {
      delete d.scales.problem5.options[0].label.en;
      delete d.subscales[2].label.zh;
      delete d.title.zh;
      d.intro.zh = "   ";
    });
    expect(errorsOf(f.load()).sort()).toEqual(
      [
        line(QOL, "title", 'missing translation "zh"'),
        line(QOL, "intro.zh", 'blank translation "zh"'),
        line(QOL, "scales.problem5.options[0].label", 'missing translation "en"'),
        line(QOL, "subscales[2].label", 'missing translation "zh"'),
      ].sort(),
    );
  });

  it("rejects study texts without a translation (sessions, consent, assent, codes, withdrawal)", () => {
    f.edit(STUDY, (d) => {
      delete d.sessions[2].goal.zh;
      delete d.assent.text.en;
      delete d.codes[3].label.zh;
      delete d.withdrawal.text.zh;
    });
    expect(errorsOf(f.load()).sort()).toEqual(
      [
        line(STUDY, "sessions[2].goal", 'missing translation "zh"'),
        line(STUDY, "assent.text", 'missing translation "en"'),
        line(STUDY, "codes[3].label", 'missing translation "zh"'),
        line(STUDY, "withdrawal.text", 'missing translation "zh"'),
      ].sort(),
    );
  });

  it("follows the study's locales: a third locale is demanded everywhere", () => {
    f.edit(STUDY, (d) => d.locales.push("fr"));
    const errors = errorsOf(f.load());
    expect(errors).toContain(line(STUDY, "title", 'missing translation "fr"'));
    expect(errors).toContain(line(SS, "items[25].text", 'missing translation "fr"'));
  });

  it("still reports a missing translation when the same file has a schema error", () => {
    f.edit(SS, (d) => {
      delete d.items[0].text.zh;
      d.items[1].colour = "red";
    });
    expect(errorsOf(f.load()).sort()).toEqual(
      [
        line(SS, "items[1]", 'unknown field(s) "colour"'),
        line(SS, "items[0].text", 'missing translation "zh"'),
      ].sort(),
    );
  });

  it("still gates instruments when the study itself has a schema error", () => {
    f.edit(STUDY, (d) => (d.thresholds.smallCell = 0));
    f.edit(SS, (d) => delete d.items[2].text.en);
    const errors = errorsOf(f.load());
    expect(errors).toContain(line(SS, "items[2].text", 'missing translation "en"'));
    expect(errors.some((e) => e.startsWith(line(STUDY, "thresholds.smallCell", "")))).toBe(true);
  });

  it("does not mistake a scale named like a text field for a text", () => {
    f.edit(QOL, (d) => {
      d.scales.label = d.scales.problem5;
      delete d.scales.problem5;
      d.scale = "label";
    });
    expect(f.load().ok).toBe(true);
  });
});

describe("study references", () => {
  it("rejects an unknown instrument", () => {
    f.edit(STUDY, (d) => (d.assignments.afterSession.parent = ["session-satisfation"]));
    expect(errorsOf(f.load())).toEqual([
      line(STUDY, "assignments.afterSession.parent[0]", 'unknown instrument "session-satisfation"'),
    ]);
  });

  it("rejects an unknown observation instrument", () => {
    f.edit(STUDY, (d) => (d.assignments.observation = "observations"));
    expect(errorsOf(f.load())).toEqual([
      line(STUDY, "assignments.observation", 'unknown instrument "observations"'),
    ]);
  });

  it("rejects an arm the study does not declare", () => {
    f.edit(STUDY, (d) => (d.arms = d.arms.filter((a: { id: string }) => a.id !== "control")));
    const errors = errorsOf(f.load());
    expect(errors).toContain(
      line(STUDY, "assignments.timepoints[0].arms[1]", 'unknown arm "control"'),
    );
    expect(errors).toContain(
      line(STUDY, "assignments.timepoints[2].arms[1]", 'unknown arm "control"'),
    );
  });

  it("rejects an arm id outside experimental / control / none", () => {
    f.edit(STUDY, (d) => (d.assignments.timepoints[0].arms = ["experimental", "treatment"]));
    const errors = errorsOf(f.load());
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `^${escape(f.path(STUDY))}: assignments\\.timepoints\\[0\\]\\.arms\\[1\\]: .*experimental`,
      ),
    );
  });

  it("rejects an unknown timepoint", () => {
    f.edit(STUDY, (d) => (d.assignments.timepoints[2].timepoint = "follow_up"));
    expect(errorsOf(f.load())).toEqual([
      line(STUDY, "assignments.timepoints[2].timepoint", 'unknown timepoint "follow_up"'),
    ]);
  });

  it("rejects an instrument given to the wrong respondent", () => {
    f.edit(STUDY, (d) => {
      d.assignments.afterSession.facilitator = ["session-satisfaction"];
      d.assignments.timepoints[0].child = ["qol-proxy"];
      d.assignments.observation = "social-skills-child";
    });
    expect(errorsOf(f.load())).toEqual([
      line(
        STUDY,
        "assignments.timepoints[0].child[0]",
        'instrument "qol-proxy" is answered by parent, not child',
      ),
      line(
        STUDY,
        "assignments.afterSession.facilitator[0]",
        'instrument "session-satisfaction" is answered by parent, not facilitator',
      ),
      line(
        STUDY,
        "assignments.observation",
        'instrument "social-skills-child" is answered by child, not facilitator',
      ),
    ]);
  });

  it("rejects a session focus that is not an observation dimension", () => {
    f.edit(STUDY, (d) => (d.sessions[0].focus[1] = "empathy"));
    expect(errorsOf(f.load())).toEqual([
      line(
        STUDY,
        "sessions[0].focus[1]",
        'unknown dimension "empathy" (not a subscale of "observation")',
      ),
    ]);
  });

  it("rejects a default locale outside the locales, and a window that closes before it opens", () => {
    f.edit(STUDY, (d) => {
      d.defaultLocale = "fr";
      d.timepoints[1].window.closeDays = -1;
    });
    expect(errorsOf(f.load())).toEqual([
      line(STUDY, "defaultLocale", '"fr" is not one of the study\'s locales (en, zh)'),
      line(STUDY, "timepoints[1].window", "openDays (0) is after closeDays (-1)"),
    ]);
  });

  it("checks references against an instrument that has errors of its own, without piling on", () => {
    f.edit(SAT, (d) => delete d.items[0].text.zh);
    // The study still names session-satisfaction: only the instrument's own error is reported.
    expect(errorsOf(f.load())).toEqual([line(SAT, "items[0].text", 'missing translation "zh"')]);
  });
});

describe("skip logic", () => {
  it("accepts an expression over earlier items and keeps the parsed form", () => {
    f.edit(SS, (d) => (d.items[1].showIf = "ae1 >= 2 and not answered(ae1) or ae1 == 1"));
    const r = f.load();
    expect(r.ok).toBe(true);
    if (r.ok) {
      const item = r.flows.instruments.get("social-skills")?.items[1];
      expect(item?.showIfSource).toBe("ae1 >= 2 and not answered(ae1) or ae1 == 1");
      expect(item?.showIf?.kind).toBe("or");
    }
  });

  it("rejects an expression that does not parse", () => {
    f.edit(SS, (d) => (d.items[1].showIf = "ae1 >"));
    expect(errorsOf(f.load())).toEqual([
      line(SS, "items[1].showIf", 'cannot parse "ae1 >": unexpected end of expression'),
    ]);
  });

  it("rejects a reference to a later item", () => {
    f.edit(SS, (d) => (d.items[1].showIf = "ae3 >= 2"));
    expect(errorsOf(f.load())).toEqual([
      line(
        SS,
        "items[1].showIf",
        'refers to "ae3", which comes later; skip logic may only use earlier items',
      ),
    ]);
  });

  it("rejects a reference to an unknown item", () => {
    f.edit(SS, (d) => (d.items[1].showIf = "answered(zz9)"));
    expect(errorsOf(f.load())).toEqual([
      line(SS, "items[1].showIf", 'refers to unknown item "zz9"'),
    ]);
  });

  it("rejects a reference to the item itself", () => {
    f.edit(SS, (d) => (d.items[1].showIf = "ae2 == 1"));
    expect(errorsOf(f.load())).toEqual([
      line(
        SS,
        "items[1].showIf",
        'refers to the item itself ("ae2"); skip logic may only use earlier items',
      ),
    ]);
  });

  it("rejects a numeric comparison on a text item but allows answered()", () => {
    f.edit(SAT, (d) => {
      d.items.push({
        id: "why",
        type: "text",
        required: false,
        showIf: "comment == 1",
        text: { en: "Why?", zh: "为什么？" },
      });
      d.items.push({
        id: "more",
        type: "text",
        required: false,
        showIf: "answered(comment)",
        text: { en: "More?", zh: "还有吗？" },
      });
    });
    expect(errorsOf(f.load())).toEqual([
      line(
        SAT,
        "items[5].showIf",
        'compares text item "comment" with a number; use answered(comment)',
      ),
    ]);
  });
});

describe("file-level problems", () => {
  it("reports a YAML syntax error with its line", () => {
    f.write(SAT, "id: session-satisfaction\ntitle: { en: 'x'\nversion: 1\n");
    // The parser notices the unclosed "{" where the next key starts, on line 3. Only this file's
    // error is reported: the study's references to session-satisfaction are not piled on top.
    expect(errorsOf(f.load())).toEqual([
      line(
        SAT,
        "(top level)",
        "YAML syntax error at line 3, column 1: Flow map in block collection must be sufficiently indented and end with a }",
      ),
    ]);
  });

  it("rejects duplicate keys in one YAML mapping", () => {
    f.write(SAT, `version: 2\n${f.read(SAT)}`);
    expect(errorsOf(f.load())[0]).toMatch(/YAML syntax error.*unique/i);
  });

  it("rejects unknown fields, in instruments and in the study", () => {
    f.edit(SS, (d) => (d.items[0].txt = "typo"));
    f.edit(STUDY, (d) => (d.sesions = []));
    expect(errorsOf(f.load())).toEqual([
      line(STUDY, "(top level)", 'unknown field(s) "sesions"'),
      line(SS, "items[0]", 'unknown field(s) "txt"'),
    ]);
  });

  it("names a missing required field", () => {
    f.edit(QOL, (d) => delete d.respondent);
    expect(errorsOf(f.load())[0]).toMatch(new RegExp(`^${escape(f.path(QOL))}: respondent: `));
  });

  it("reports a missing study.yaml", () => {
    f.write(STUDY, "");
    const errors = errorsOf(f.load());
    expect(errors[0]).toMatch(new RegExp(`^${escape(f.path(STUDY))}: \\(top level\\): `));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
