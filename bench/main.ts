// `npm run bench [-- --quick] [-- --only a,b,c,d,e] [-- --no-gc]`: Circle's performance against the
// goals of issue item 8. Prints tables and writes bench/results.json (git-ignored). Not part of
// `npm test`.
//
// (a) CPU time per answered item through the full bot (createBot, real SQLite file, fake Bot
//     API), next to a bare grammY handler (one insert + one reply per update) and the same
//     questionnaire on @grammyjs/conversations, at items 1, 10 and 25 of a 30-item questionnaire.
// (b) Durable answers per second, sequential through the full path (synchronous NORMAL, the
//     default, and FULL), and what bounds it.
// (c) `circle report` time and peak memory for 1k and 10k participants × 2 timepoints × 60 items.
// (d) Cold start of `node bin/start.mjs` to the first answered update (local Bot API sandbox).
// (e) The scheduler's planning pass at 1k and 5k families: first pass and steady state, with
//     the number of SQL statements each made.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { coldStart, type ColdStart } from "./cold-start.js";
import { Q30, Q60, writeBenchFlows } from "./flows.js";
import { measureCpuPerItem, meanCpu, UP_TO, type CpuResult } from "./measure-cpu.js";
import { measureDurable, type DurableResult } from "./measure-durable.js";
import { measurePlanner, type PlannerResult } from "./measure-planner.js";
import { measureReports, type ReportResult } from "./measure-report.js";
import { fmt, table } from "./table.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only"));
const only = new Set(
  (onlyArg?.includes("=")
    ? onlyArg.split("=")[1]!
    : onlyArg
      ? (args[args.indexOf(onlyArg) + 1] ?? "")
      : "abcde"
  )
    .replace(/[^abcde]/g, "")
    .split(""),
);
const config = {
  quick,
  sections: [...only].sort().join(""),
  parents: quick ? 8 : 40,
  warm: quick ? 2 : 4,
  bareChats: quick ? 16 : 80,
  gc: !args.includes("--no-gc"),
  durableParents: quick ? 3 : 10,
  probeCommits: quick ? 50 : 200,
  microCalls: quick ? 200 : 1000,
  reportSizes: [1000, 10000],
  reportCli: !quick,
  coldRuns: quick ? 1 : 3,
  plannerSizes: quick ? [1000] : [1000, 5000],
};
const POSITIONS = [1, 10, 25];

const work = mkdtempSync(join(tmpdir(), "circle-bench-"));
const flowsDir = join(work, "flows");
const flows = writeBenchFlows(flowsDir);
const log = (s: string) => process.stderr.write(`${s}\n`);
log(`circle bench${quick ? " (quick)" : ""}, sections ${config.sections}: work dir ${work}`);

const loadBefore = loadavg();
let cpu: CpuResult | undefined;
let durable: DurableResult | undefined;
let reports: ReportResult[] | undefined;
let cold: ColdStart | undefined;
let planner: PlannerResult[] | undefined;
try {
  if (only.has("a")) cpu = await measureCpuPerItem(work, flows, config, log);
  if (only.has("b")) durable = await measureDurable(work, flows, config, log);
  if (only.has("c"))
    reports = await measureReports(work, flowsDir, flows.instruments.get(Q60)!, config, log);
  if (only.has("d")) {
    log("(d) cold start…");
    cold = await coldStart(work, config.coldRuns);
  }
  if (only.has("e")) {
    log("(e) scheduler planning…");
    planner = await measurePlanner(config.plannerSizes);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Derived numbers and goals

interface Goal {
  goal: string;
  value: number;
  unit: string;
  target: number;
  met: boolean;
}
const goals: Goal[] = [];
const out: string[] = [];
const ratio = (a: number, b: number) => a / b;

let cpuSummary: Record<string, unknown> | undefined;
if (cpu) {
  const perItem = cpu.perItem;
  const at = (name: string, k: number) => perItem[name]![k]!;
  // The bare handlers do the same at every item: their mean over all items is the steadier floor.
  const bareMean = meanCpu(perItem.bareSqlite!);
  const barePrismaMean = meanCpu(perItem.barePrisma!);
  const fetchPathPerCall = Math.max(0, meanCpu(perItem.bareSqliteFetch!) - bareMean);
  // Conversations' CPU minus the extra cost of its 3 API calls per item on the fetch path.
  const conversationsCorrected = (k: number) => at("conversations", k).cpuMs - 3 * fetchPathPerCall;
  const worst = Math.max(...POSITIONS.map((k) => ratio(at("circle", k).cpuMs, bareMean)));
  const vs25 = ratio(at("conversations", 25).cpuMs, at("circle", 25).cpuMs);
  goals.push(
    {
      goal: "(a) CPU per item ≤ 1.5× bare handler (worst of items 1/10/25)",
      value: worst,
      unit: "×",
      target: 1.5,
      met: worst <= 1.5,
    },
    {
      goal: "(a) ≥ 3× faster than conversations at item 25",
      value: vs25,
      unit: "×",
      target: 3,
      met: vs25 >= 3,
    },
  );
  cpuSummary = {
    meanCpuMs: Object.fromEntries(Object.entries(perItem).map(([n, r]) => [n, meanCpu(r)])),
    fetchPathCpuMsPerCall: fetchPathPerCall,
    ratios: Object.fromEntries(
      POSITIONS.map((k) => [
        k,
        {
          circleOverBareSqlite: ratio(at("circle", k).cpuMs, bareMean),
          circleOverBarePrisma: ratio(at("circle", k).cpuMs, barePrismaMean),
          conversationsOverCircle: ratio(at("conversations", k).cpuMs, at("circle", k).cpuMs),
          conversationsCorrectedOverCircle: ratio(conversationsCorrected(k), at("circle", k).cpuMs),
        },
      ]),
    ),
  };
  out.push(
    table(
      `(a) CPU per answered item, ms (${flows.instruments.get(Q30)!.items.length}-item questionnaire; ${config.parents} parents per item, ${config.bareChats} chats for the bare handlers)`,
      [
        "variant",
        ...POSITIONS.map((k) => `item ${k} cpu`),
        `items 1-${UP_TO} cpu`,
        ...POSITIONS.map((k) => `item ${k} wall`),
      ],
      Object.keys(perItem).map((name) => [
        name,
        ...POSITIONS.map((k) => fmt(at(name, k).cpuMs, 3)),
        fmt(meanCpu(perItem[name]!), 3),
        ...POSITIONS.map((k) => fmt(at(name, k).wallMs, 2)),
      ]),
    ),
    table(
      "(a) ratios (CPU)",
      ["ratio", ...POSITIONS.map((k) => `item ${k}`)],
      [
        [
          "circle / bareSqlite (its mean)",
          ...POSITIONS.map((k) => fmt(ratio(at("circle", k).cpuMs, bareMean))),
        ],
        [
          "circle / barePrisma (its mean)",
          ...POSITIONS.map((k) => fmt(ratio(at("circle", k).cpuMs, barePrismaMean))),
        ],
        [
          "conversations / circle",
          ...POSITIONS.map((k) => fmt(ratio(at("conversations", k).cpuMs, at("circle", k).cpuMs))),
        ],
        [
          "conversations, fetch path corrected / circle",
          ...POSITIONS.map((k) => fmt(ratio(conversationsCorrected(k), at("circle", k).cpuMs))),
        ],
      ],
    ),
  );
}

if (durable) {
  const d = durable;
  for (const m of d.modes)
    goals.push({
      goal: `(b) ≥ 2,000 durable answers/s (one core), synchronous ${m.synchronous}${m.synchronous === "NORMAL" ? " (default)" : ""}`,
      value: m.answersPerSecond,
      unit: "/s",
      target: 2000,
      met: m.answersPerSecond >= 2000,
    });
  const modes = d.modes.map((m) => m.synchronous);
  const row = (label: string, f: (m: (typeof d.modes)[number]) => string) => [
    label,
    ...d.modes.map(f),
  ];
  out.push(
    table(
      `(b) durable answers, sequential through the full path (${d.commitsPerAnswer} commits, ${d.statementsPerAnswer} SQL statements per answer)`,
      ["measure", ...modes.map((m) => `synchronous ${m}`)],
      [
        row("answers/s", (m) => fmt(m.answersPerSecond, 1)),
        row("CPU ms per answer", (m) => fmt(m.cpuMsPerAnswer, 2)),
        row("CPU-bound ceiling, answers/s", (m) => fmt(m.cpuBoundPerSecond, 1)),
        row(
          "disk: 1-row commits/s (ms each)",
          (m) => `${fmt(m.commitProbe.commitsPerSecond, 0)} (${fmt(m.commitProbe.msPerCommit, 3)})`,
        ),
        row("commit-bound ceiling, answers/s", (m) => fmt(m.commitBoundPerSecond, 0)),
        row("bare handler, sequential, answers/s", (m) => fmt(m.bareHandlerPerSecond, 0)),
      ],
    ),
    table(
      "(b) one query, CPU µs",
      ["query", "µs"],
      [
        ["Prisma account.findUnique (through openDatabase)", fmt(d.prismaFindUniqueCpuUs, 0)],
        ["the same SELECT on better-sqlite3", fmt(d.betterSqliteGetCpuUs, 1)],
      ],
    ),
  );
}

if (reports) {
  const r10k = reports.find((r) => r.participants === 10_000);
  if (r10k) {
    const peak = Math.max(r10k.child.peakRssMb, r10k.cli?.peakRssMb ?? 0);
    goals.push(
      {
        goal: "(c) 10k-participant report ≤ 2 s",
        value: r10k.child.reportMs / 1000,
        unit: "s",
        target: 2,
        met: r10k.child.reportMs <= 2000,
      },
      {
        goal: "(c) 10k-participant report ≤ 300 MB peak",
        value: peak,
        unit: "MB",
        target: 300,
        met: peak <= 300,
      },
    );
  }
  out.push(
    table(
      "(c) circle report (60 items × pre/post); report = buildReport in a fresh process; cli = `circle report --json` end to end",
      [
        "participants",
        "answers",
        "generate s",
        "report s",
        "answers read (warm) s",
        "peak RSS MB",
        "cli s",
        "cli peak MB",
      ],
      reports.map((r) => [
        r.participants,
        r.answers,
        fmt(r.generateMs / 1000),
        fmt(r.child.reportMs / 1000),
        fmt(r.child.datasetWarmMs / 1000),
        fmt(r.child.peakRssMb, 0),
        r.cli ? fmt(r.cli.wallMs / 1000) : "-",
        r.cli ? fmt(r.cli.peakRssMb, 0) : "-",
      ]),
    ),
  );
}

if (cold) {
  out.push(
    table(
      `(d) cold start: node bin/start.mjs → first answered update (sandbox, ${cold.runs.length} run(s))`,
      ["measure", "ms"],
      [
        ["node -e 0 (process floor)", fmt(cold.nodeStartupMs, 0)],
        ...cold.runs.map((r, i): (string | number)[] => [
          `run ${i + 1}: first getUpdates / answered`,
          `${fmt(r.firstPollMs, 0)} / ${fmt(r.answeredMs, 0)}`,
        ]),
        ["median to answered", fmt(cold.medianAnsweredMs, 0)],
      ],
    ),
  );
}

if (planner) {
  const p5k = planner.find((p) => p.families === 5000);
  if (p5k)
    goals.push({
      goal: "(e) steady planning pass at 5,000 families ≤ 1 s",
      value: p5k.steadyMs / 1000,
      unit: "s",
      target: 1,
      met: p5k.steadyMs <= 1000,
    });
  out.push(
    table(
      "(e) scheduler planning pass (first: enqueues every reminder and alert; steady: the pass every minute, nothing new)",
      ["families", "first s", "first SQL", "jobs", "steady s", "steady SQL"],
      planner.map((p) => [
        p.families,
        fmt(p.firstMs / 1000),
        p.firstQueries,
        p.firstJobs,
        fmt(p.steadyMs / 1000, 3),
        p.steadyQueries,
      ]),
    ),
  );
}

out.push(
  table(
    "Goals",
    ["goal", "measured", "target", "met"],
    goals.map((g) => [
      g.goal,
      `${fmt(g.value, g.unit === "/s" || g.unit === "MB" ? 0 : 2)} ${g.unit}`,
      `${g.target} ${g.unit}`,
      g.met ? "yes" : "NO",
    ]),
  ),
);

let commit: string | null = null;
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
} catch {
  commit = null;
}
const loadAfter = loadavg();
const results = {
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    loadAverage: { before: loadBefore, after: loadAfter },
    commit,
    notes: [
      "CPU = process.cpuUsage() (user + system, all threads of this process) per update; wall includes fsync waits and other processes on the machine.",
      "Fake Bot API: an in-process grammY transformer for circle and the bare handlers; the conversations plugin builds its own Api objects, so there it replaces fetch (adds grammY's JSON encoding per call; bareSqliteFetch sizes that).",
      "bareSqlite: better-sqlite3 prepared INSERT + one sendMessage per update; barePrisma: Circle's Prisma client (openDatabase) create + one sendMessage. All SQLite files use Circle's pragmas (WAL) and the bot's default synchronous NORMAL, except where (b) says FULL.",
    ],
  },
  config,
  cpuPerItem: cpu
    ? { positions: POSITIONS, ...cpuSummary, perItem: cpu.perItem, storedAnswers: cpu.stored }
    : null,
  durable: durable ?? null,
  report: reports ?? null,
  coldStart: cold ?? null,
  planner: planner ?? null,
  goals,
};
writeFileSync(join(root, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
out.push(
  `\nload average ${loadBefore.map((x) => x.toFixed(2)).join(" ")} → ${loadAfter.map((x) => x.toFixed(2)).join(" ")} on ${cpus().length} CPUs (other processes slow the wall times); results in bench/results.json`,
);
process.stdout.write(`${out.join("\n")}\n`);
