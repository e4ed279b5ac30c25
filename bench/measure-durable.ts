// (b) Durable answers per second: parents answer whole questionnaires one update after another
// through the full path, wall clock — under the bot's default synchronous NORMAL (a committed
// answer survives a crash of the process; a power cut may lose the last commits) and under FULL
// (every commit fsynced). Beside it, what bounds the rate: CPU per answer, commits and SQL
// statements per answer, this disk's commit rate, one Prisma query against the same query on
// better-sqlite3, and the bare handler on the same disk and settings.
import { join } from "node:path";
import Database from "better-sqlite3";
import type { SyncMode } from "../src/db/client.js";
import type { LoadedFlows } from "../src/study/model.js";
import { bareSqlite } from "./bare.js";
import { CircleHarness } from "./circle-bot.js";
import { commitProbe, countStatements, cpuMicros, ensureFile, walCommits } from "./durability.js";
import { range } from "./measure-cpu.js";

export interface DurableConfig {
  durableParents: number;
  probeCommits: number;
  microCalls: number;
}

export interface DurableMode {
  synchronous: SyncMode;
  answers: number;
  wallMs: number;
  answersPerSecond: number;
  cpuMsPerAnswer: number;
  cpuBoundPerSecond: number;
  /** Single-row autocommit inserts on this disk with the same settings. */
  commitProbe: { commitsPerSecond: number; msPerCommit: number };
  commitBoundPerSecond: number;
  bareHandlerPerSecond: number;
}

export interface DurableResult {
  modes: DurableMode[];
  commitsPerAnswer: number;
  statementsPerAnswer: number;
  prismaFindUniqueCpuUs: number;
  betterSqliteGetCpuUs: number;
}

async function sequential(
  work: string,
  flows: LoadedFlows,
  cfg: DurableConfig,
  synchronous: SyncMode,
  base: number,
) {
  const file = join(work, `durable-${synchronous}.db`);
  const circle = await CircleHarness.open(`file:${file}`, flows, synchronous);
  const ids = range(base, cfg.durableParents);
  for (const id of ids) await circle.enrol(id);
  // One parent through the questionnaire first, so the timed run is not the first (JIT) one.
  const warmId = base + 9_000;
  await circle.enrol(warmId);
  for (let k = 1; k <= 30; k++) await circle.deliver(circle.answerUpdate(warmId, k)!);

  let answers = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const id of ids) {
    for (let k = 1; k <= 30; k++) {
      const u = circle.answerUpdate(id, k);
      if (!u) throw new Error(`durable run: parent ${id} not asked item ${k}`);
      await circle.deliver(u);
      answers++;
    }
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const completed = await circle.db.responseSet.count({
    where: { participant: { code: { in: ids.map((id) => `BP${id}`) } }, status: "complete" },
  });
  const setting = (
    await circle.db.$queryRawUnsafe<{ synchronous: bigint | number }[]>("PRAGMA synchronous")
  )[0]?.synchronous;
  if (completed !== ids.length || circle.problems.length)
    throw new Error(
      `durable run: ${completed} of ${ids.length} questionnaires complete; ${circle.problems.slice(0, 3).join(" | ")}`,
    );
  if (Number(setting) !== (synchronous === "FULL" ? 2 : 1))
    throw new Error(`durable run: synchronous is ${setting}, expected ${synchronous}`);

  const probe = commitProbe(work, cfg.probeCommits, synchronous);
  // The floor: the bare handler, sequential, same settings and disk.
  const bare = bareSqlite(join(work, `bare-seq-${synchronous}.db`), "transformer", synchronous);
  const bt0 = performance.now();
  for (let i = 0; i < answers; i++) await bare.deliver(bare.answerUpdate(70_001 + (i % 10), i));
  const bareHandlerPerSecond = (answers / (performance.now() - bt0)) * 1000;
  await bare.close();

  const cpuMsPerAnswer = (cpu.user + cpu.system) / 1000 / answers;
  return {
    circle,
    file,
    ids,
    mode: {
      synchronous,
      answers,
      wallMs,
      answersPerSecond: (answers / wallMs) * 1000,
      cpuMsPerAnswer,
      cpuBoundPerSecond: 1000 / cpuMsPerAnswer,
      commitProbe: probe,
      commitBoundPerSecond: 0,
      bareHandlerPerSecond,
    },
  };
}

export async function measureDurable(
  work: string,
  flows: LoadedFlows,
  cfg: DurableConfig,
  log: (s: string) => void,
): Promise<DurableResult> {
  log("(b) durable answers per second, synchronous NORMAL (the default)…");
  const normal = await sequential(work, flows, cfg, "NORMAL", 20_001);

  // Commits and statements per answer, over mid-questionnaire answers (the common case).
  const { circle, file } = normal;
  const diagId = 29_501;
  await circle.enrol(diagId);
  await circle.db.$queryRawUnsafe("PRAGMA wal_checkpoint(TRUNCATE)");
  ensureFile(`${file}-wal`);
  const DIAG = 10;
  let statements = 0;
  for (let k = 1; k <= DIAG; k++) {
    const u = circle.answerUpdate(diagId, k)!;
    statements += await countStatements(() => circle.deliver(u));
  }
  const commitsPerAnswer = walCommits(file) / DIAG;

  const telegramId = String(normal.ids[0]);
  const prismaFindUniqueCpuUs = await cpuMicros(cfg.microCalls, () =>
    circle.db.account.findUnique({ where: { telegramUserId: telegramId } }),
  );
  const raw = new Database(file, { readonly: true });
  const find = raw.prepare(`SELECT * FROM "Account" WHERE "telegramUserId" = ? LIMIT 1`);
  const betterSqliteGetCpuUs = await cpuMicros(cfg.microCalls, () => find.get(telegramId));
  raw.close();
  await circle.close();

  log("(b) durable answers per second, synchronous FULL…");
  const full = await sequential(work, flows, cfg, "FULL", 21_001);
  await full.circle.close();

  const modes = [normal.mode, full.mode].map((m) => ({
    ...m,
    commitBoundPerSecond: m.commitProbe.commitsPerSecond / commitsPerAnswer,
  }));
  return {
    modes,
    commitsPerAnswer,
    statementsPerAnswer: statements / DIAG,
    prismaFindUniqueCpuUs,
    betterSqliteGetCpuUs,
  };
}
