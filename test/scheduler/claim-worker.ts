// A separate OS process claiming jobs one at a time until none are left (see jobs.test.ts).
// Usage: tsx test/scheduler/claim-worker.ts <database url> <now ms>; prints the claimed ids as JSON.
import { openDatabase } from "../../src/db/client.js";
import { claimDueJobs, completeJob } from "../../src/scheduler/jobs.js";

const [url, nowMs] = process.argv.slice(2);
const db = await openDatabase(url!, { migrate: false });
const now = new Date(Number(nowMs));
const ids: number[] = [];
for (;;) {
  const [job] = await claimDueJobs(db, now, 1);
  if (!job) break;
  ids.push(job.id);
  await completeJob(db, job, now);
}
await db.$disconnect();
process.stdout.write(JSON.stringify(ids));
