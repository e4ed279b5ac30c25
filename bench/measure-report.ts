// (c) `circle report` time and peak memory: a generated study of N participants × pre/post × the
// 60-item instrument, reported (1) by buildReport in a fresh process (bench/report-child.ts, which
// also times a warm second read of the answers) and (2) by the real CLI, `circle report --json`,
// end to end with its peak RSS taken by the bench/peak-rss.mjs preload.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Instrument } from "../src/study/model.js";
import { runNode } from "./child.js";
import { generateStudy } from "./study-data.js";

export interface ReportConfig {
  reportSizes: number[];
  reportCli: boolean;
}

export interface ReportChild {
  reportMs: number;
  datasetWarmMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
  participants: number;
}

export interface ReportResult {
  participants: number;
  answers: number;
  generateMs: number;
  child: ReportChild;
  cli?: { wallMs: number; peakRssMb: number };
}

export async function measureReports(
  work: string,
  flowsDir: string,
  instrument: Instrument,
  cfg: ReportConfig,
  log: (s: string) => void,
): Promise<ReportResult[]> {
  const out: ReportResult[] = [];
  for (const n of cfg.reportSizes) {
    log(`(c) report: generating ${n} participants…`);
    const file = join(work, `report-${n}.db`);
    const url = `file:${file}`;
    const gen = generateStudy(url, instrument, n);
    log(`(c) report: ${n} participants, building…`);
    const { stdout } = await runNode([
      "--import",
      "tsx",
      "bench/report-child.ts",
      url,
      flowsDir,
      instrument.id,
    ]);
    const entry: ReportResult = {
      participants: n,
      answers: gen.answers,
      generateMs: gen.ms,
      child: JSON.parse(stdout.trim()) as ReportChild,
    };
    if (cfg.reportCli) {
      const rssFile = join(work, `rss-${n}.json`);
      const cli = await runNode(
        [
          "--import",
          "./bench/peak-rss.mjs",
          "bin/circle.mjs",
          "report",
          "--instrument",
          instrument.id,
          "--json",
        ],
        {
          DATABASE_URL: url,
          FLOWS_DIR: flowsDir,
          BENCH_RSS_FILE: rssFile,
        },
      );
      const report = JSON.parse(cli.stdout) as { scores: unknown[] };
      if (report.scores.length !== instrument.subscales.length + 1)
        throw new Error("circle report returned an unexpected report");
      const { maxRssKb } = JSON.parse(readFileSync(rssFile, "utf8")) as { maxRssKb: number };
      entry.cli = { wallMs: cli.ms, peakRssMb: maxRssKb / 1024 };
    }
    out.push(entry);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  }
  return out;
}
