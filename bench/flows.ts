// A temporary flows folder for the bench: the shipped study and instruments, plus two generated
// instruments (30 and 60 five-point items, placeholder wording) and the study's timepoints
// assigning the 30-item one to parents, so an enrolled parent answers exactly that.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { loadFlows } from "../src/study/load.js";
import type { LoadedFlows } from "../src/study/model.js";

export const Q30 = "bench-q30";
export const Q60 = "bench-q60";

const AGREE5 = {
  min: 1,
  max: 5,
  options: [
    { value: 1, label: { en: "Never", zh: "从不" } },
    { value: 2, label: { en: "Rarely", zh: "很少" } },
    { value: 3, label: { en: "Sometimes", zh: "有时" } },
    { value: 4, label: { en: "Often", zh: "经常" } },
    { value: 5, label: { en: "Always", zh: "总是" } },
  ],
};

/** An instrument of `n` choice items in `n / 10` subscales; every fourth item reverse-keyed. */
function benchInstrument(id: string, n: number): unknown {
  const subscales = Array.from({ length: Math.ceil(n / 10) }, (_, i) => ({
    id: `s${i + 1}`,
    label: { en: `Bench scale ${i + 1}`, zh: `测试分量表 ${i + 1}` },
  }));
  const items = Array.from({ length: n }, (_, i) => ({
    id: `i${i + 1}`,
    subscale: `s${Math.floor(i / 10) + 1}`,
    reverse: i % 4 === 3,
    text: {
      en: `Bench statement number ${i + 1} about the child's week.`,
      zh: `关于孩子这一周的测试陈述第 ${i + 1} 条。`,
    },
  }));
  return {
    id,
    version: 1,
    title: { en: `Bench questionnaire (${n} items)`, zh: `测试问卷（${n} 题）` },
    respondent: "parent",
    transform: "none",
    minAnsweredFraction: 0.5,
    scale: "freq5",
    scales: { freq5: AGREE5 },
    subscales,
    items,
  };
}

/** Writes the bench flows into `dir` (created) and loads them. */
export function writeBenchFlows(dir: string, shippedDir = "flows"): LoadedFlows {
  mkdirSync(join(dir, "instruments"), { recursive: true });
  cpSync(join(shippedDir, "instruments"), join(dir, "instruments"), { recursive: true });
  const study = parse(readFileSync(join(shippedDir, "study.yaml"), "utf8")) as {
    assignments: { timepoints: unknown[] };
  };
  study.assignments.timepoints = [
    { timepoint: "pre", parent: [Q30], child: [] },
    { timepoint: "post", parent: [Q30], child: [] },
  ];
  writeFileSync(join(dir, "study.yaml"), stringify(study));
  writeFileSync(join(dir, "instruments", `${Q30}.yaml`), stringify(benchInstrument(Q30, 30)));
  writeFileSync(join(dir, "instruments", `${Q60}.yaml`), stringify(benchInstrument(Q60, 60)));
  const r = loadFlows({ flowsDir: dir });
  if (!r.ok) throw new Error(`bench flows do not load:\n${r.errors.join("\n")}`);
  return r.flows;
}
