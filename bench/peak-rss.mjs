// Preloaded into a child process (node --import ./bench/peak-rss.mjs …): on exit, writes the
// process's peak resident memory to $BENCH_RSS_FILE, so the bench can measure any command.
import { writeFileSync } from "node:fs";
import process from "node:process";

const out = process.env.BENCH_RSS_FILE;
if (out)
  process.on("exit", () =>
    writeFileSync(out, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS })),
  );
