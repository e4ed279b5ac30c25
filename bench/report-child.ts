// Runs one effect report in a fresh process and prints its time and the process's peak memory
// as JSON (the parent bench spawns this per study size, so each peak belongs to one report).
// Usage: node --import tsx bench/report-child.ts <database url> <flows dir> <instrument id>
import { openDatabase } from "../src/db/client.js";
import { loadFlows } from "../src/study/load.js";
import { buildReport } from "../src/analysis/report.js";
import { loadInstrumentData } from "../src/analysis/dataset.js";

const [url, flowsDir, instrumentId] = process.argv.slice(2);
if (!url || !flowsDir || !instrumentId)
  throw new Error("usage: report-child.ts <url> <flowsDir> <instrument>");
const flows = loadFlows({ flowsDir });
if (!flows.ok) throw new Error(flows.errors.join("\n"));
const db = await openDatabase(url);
const mb = (kb: number) => kb / 1024;
const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
const t0 = performance.now();
const { report, context } = await buildReport(db, flows.flows, instrumentId);
const reportMs = performance.now() - t0;
JSON.stringify(report);
const peakRssMb = mb(process.resourceUsage().maxRSS);
// The same load again, warm, to split the time into reading the answers and the statistics.
const t1 = performance.now();
await loadInstrumentData(db, flows.flows.instruments.get(instrumentId)!, ["pre", "post"]);
const datasetMs = performance.now() - t1;
await db.$disconnect();
process.stdout.write(
  `${JSON.stringify({ reportMs, datasetWarmMs: datasetMs, rssBeforeMb, peakRssMb, participants: context.participants, scores: report.scores.length })}\n`,
);
