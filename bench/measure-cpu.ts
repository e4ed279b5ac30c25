// (a) CPU time per answered item: the Circle bot next to the bare handlers and the conversations
// version, at every item 1–25 of the 30-item questionnaire. The variants take turns at every item,
// so a busy machine slows them alike, and a full collection precedes each timed batch so no
// variant pays for the garbage of the one before.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Update } from "grammy/types";
import type { LoadedFlows } from "../src/study/model.js";
import { barePrisma, bareSqlite, type Deliverer } from "./bare.js";
import { CircleHarness } from "./circle-bot.js";
import { conversationsBot } from "./conversations.js";
import { Q30 } from "./flows.js";

export const UP_TO = 25;

export interface CpuConfig {
  parents: number;
  warm: number;
  bareChats: number;
  gc: boolean;
}

export interface PositionResult {
  /** CPU ms (user + system, whole process) per update. */
  cpuMs: number;
  wallMs: number;
  updates: number;
}

export interface CpuResult {
  /** Per variant and item number 1–25. */
  perItem: Record<string, Record<number, PositionResult>>;
  stored: Record<string, number>;
}

interface Subject {
  name: string;
  ids: number[];
  warm: number[];
  next(id: number, k: number): Update;
  deliver(u: Update): Promise<void>;
}

/** Mean CPU ms per update over every item (the bare handlers do the same work at every item). */
export function meanCpu(r: Record<number, PositionResult>): number {
  const all = Object.values(r);
  return all.reduce((a, x) => a + x.cpuMs * x.updates, 0) / all.reduce((a, x) => a + x.updates, 0);
}

export const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

function deliverer(name: string, d: Deliverer, ids: number[], warm: number[]): Subject {
  return { name, ids, warm, next: (id, k) => d.answerUpdate(id, k), deliver: (u) => d.deliver(u) };
}

function collector(): () => Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return async () => {
    gc();
    // Let the concurrent sweeper finish, or its threads' CPU lands in the timed batch.
    await sleep(25);
  };
}

async function run(subjects: Subject[], cfg: CpuConfig): Promise<CpuResult["perItem"]> {
  const settle = cfg.gc ? collector() : async () => {};
  // Warm-up: a few users per variant go through every item first, untimed.
  for (let k = 1; k <= UP_TO; k++)
    for (const s of subjects) for (const id of s.warm) await s.deliver(s.next(id, k));
  const out: CpuResult["perItem"] = Object.fromEntries(subjects.map((s) => [s.name, {}]));
  for (let k = 1; k <= UP_TO; k++) {
    for (const s of subjects) {
      const updates = s.ids.map((id) => s.next(id, k));
      await settle();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const u of updates) await s.deliver(u);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      out[s.name]![k] = {
        cpuMs: (cpu.user + cpu.system) / 1000 / updates.length,
        wallMs: wall / updates.length,
        updates: updates.length,
      };
    }
  }
  return out;
}

export async function measureCpuPerItem(
  work: string,
  flows: LoadedFlows,
  cfg: CpuConfig,
  log: (s: string) => void,
): Promise<CpuResult> {
  log("(a) CPU per answered item: setting up…");
  const circle = await CircleHarness.open(`file:${join(work, "circle.db")}`, flows);
  const circleIds = range(10_001, cfg.parents);
  const circleWarm = range(19_001, cfg.warm);
  for (const id of [...circleWarm, ...circleIds]) await circle.enrol(id);
  const bare = bareSqlite(join(work, "bare.db"));
  const bareFetch = bareSqlite(join(work, "bare-fetch.db"), "fetch");
  const bareOrm = await barePrisma(`file:${join(work, "bare-prisma.db")}`);
  const conv = conversationsBot(join(work, "conversations.db"), flows.instruments.get(Q30)!);
  const convIds = range(30_001, cfg.parents);
  const convWarm = range(39_001, cfg.warm);
  for (const id of [...convWarm, ...convIds]) await conv.start(id);

  const subjects: Subject[] = [
    {
      name: "circle",
      ids: circleIds,
      warm: circleWarm,
      next: (id, k) => {
        const u = circle.answerUpdate(id, k);
        if (!u)
          throw new Error(
            `parent ${id} is not being asked item ${k}; bot problems: ${circle.problems.slice(-3).join(" | ")}`,
          );
        return u;
      },
      deliver: (u) => circle.deliver(u),
    },
    deliverer("bareSqlite", bare, range(50_001, cfg.bareChats), range(59_001, cfg.warm)),
    deliverer("barePrisma", bareOrm, range(60_001, cfg.bareChats), range(69_001, cfg.warm)),
    deliverer("bareSqliteFetch", bareFetch, range(80_001, cfg.bareChats), range(89_001, cfg.warm)),
    deliverer("conversations", conv, convIds, convWarm),
  ];
  log("(a) measuring…");
  const perItem = await run(subjects, cfg);

  // Every answer must have been stored, or the numbers describe an error path.
  const stored = {
    circle: await circle.db.answer.count({ where: { responseSet: { instrumentId: Q30 } } }),
    bareSqlite: await bare.rows(),
    bareSqliteFetch: await bareFetch.rows(),
    barePrisma: await bareOrm.rows(),
    conversations: await conv.rows(),
  };
  const questionnaires = (cfg.parents + cfg.warm) * UP_TO;
  const chats = (cfg.bareChats + cfg.warm) * UP_TO;
  const expected: Record<string, number> = {
    circle: questionnaires,
    conversations: questionnaires,
    bareSqlite: chats,
    bareSqliteFetch: chats,
    barePrisma: chats,
  };
  const wrong = Object.entries(stored).filter(([k, n]) => n !== expected[k]);
  if (wrong.length || circle.problems.length)
    throw new Error(
      `answers missing: ${JSON.stringify(stored)} (expected ${JSON.stringify(expected)}); bot problems: ${circle.problems.slice(0, 3).join(" | ")}`,
    );
  await Promise.all([
    circle.close(),
    bare.close(),
    bareFetch.close(),
    bareOrm.close(),
    conv.close(),
  ]);
  return { perItem, stored };
}
