// A separate OS process that closes a session and is killed before its transaction commits (see
// outbox.test.ts). Usage: tsx test/scheduler/outbox-close-worker.ts <database url> <session id>
// <facilitator account id> <now ms>. Prints how many outbox jobs the close had written, then
// SIGKILLs itself inside the transaction.
import { openDatabase } from "../../src/db/client.js";
import { loadFlows } from "../../src/study/load.js";
import { closeSession } from "../../src/usecases/sessions.js";

const [url, sessionId, accountId, nowMs] = process.argv.slice(2);
const flows = loadFlows({ flowsDir: "flows" });
if (!flows.ok) throw new Error(flows.errors.join("\n"));
const db = await openDatabase(url!, { migrate: false });
await db.$transaction(async (tx) => {
  const r = await closeSession(tx, flows.flows, {
    sessionId: Number(sessionId),
    accountId: Number(accountId),
    now: new Date(Number(nowMs)),
    timeZone: "UTC",
  });
  const jobs = await tx.job.count({ where: { kind: "session-over" } });
  process.stdout.write(JSON.stringify({ asked: r.asked, jobsInTransaction: jobs }) + "\n", () =>
    process.kill(process.pid, "SIGKILL"),
  );
  await new Promise(() => {});
});
