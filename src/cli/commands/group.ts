// `circle group create|assign|list`, `circle account list|alerts` and `circle session plan`: the
// coordinator's side of groups, facilitators and the session calendar. Accounts are named by
// their internal id (from `circle account list`), never by Telegram id. Every write is audited.
import { Option, type Command } from "commander";
import { DomainError } from "../../usecases/participants.js";
import {
  assignFacilitator,
  createGroup,
  GROUP_ARMS,
  isoDay,
  listAccounts,
  listGroups,
  planSession,
  setProtocolAlerts,
  type GroupArm,
} from "../../usecases/groups.js";
import { CliFailure, UsageError } from "../context.js";
import type { GetContext } from "./index.js";

async function domain<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof DomainError) throw new CliFailure(e.message);
    throw e;
  }
}

export function registerGroup(program: Command, ctx: GetContext): void {
  const group = program
    .command("group")
    .description("groups of participants and their facilitators");
  group
    .command("create")
    .description("create a group")
    .argument("<name>", "group name, e.g. A or ward-3")
    .addOption(new Option("--arm <arm>", "study arm the group belongs to").choices(GROUP_ARMS))
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { arm?: GroupArm; json?: boolean }) => {
      const c = ctx();
      const db = await c.db();
      const g = await domain(() => createGroup(db, { name, arm: opts.arm }, { kind: "cli" }));
      if (opts.json) c.json({ id: g.id, name: g.name, arm: g.arm });
      else c.out(`created group ${g.name} (id ${g.id}${g.arm ? `, arm ${g.arm}` : ""})`);
    });

  group
    .command("assign")
    .description("assign a facilitator account to a group (account ids: `circle account list`)")
    .argument("<group>", "group name (or id)")
    .requiredOption("--account <id>", "internal account id of the facilitator")
    .option("--json", "machine-readable output")
    .action(async (groupRef: string, opts: { account: string; json?: boolean }) => {
      if (!/^\d{1,9}$/.test(opts.account))
        throw new UsageError(`--account must be an account id (a number), got "${opts.account}"`);
      const c = ctx();
      const db = await c.db();
      const r = await domain(() =>
        assignFacilitator(db, groupRef, Number(opts.account), { kind: "cli" }),
      );
      if (opts.json) c.json({ group: r.group.name, account: r.accountId, changed: r.changed });
      else
        c.out(
          r.changed
            ? `account ${r.accountId} now facilitates group ${r.group.name}`
            : `account ${r.accountId} already facilitates group ${r.group.name}`,
        );
    });

  group
    .command("list")
    .description("groups with their participants, facilitators (account ids) and sessions")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const groups = await listGroups(await c.db());
      if (opts.json) return c.json({ groups });
      if (groups.length === 0) return c.out("no groups yet");
      const lines: string[] = [];
      for (const g of groups) {
        lines.push(`${g.name} (id ${g.id}, arm ${g.arm ?? "none"})`);
        lines.push(`  participants: ${g.participants.join(", ") || "—"}`);
        lines.push(`  facilitators (account ids): ${g.facilitators.join(", ") || "—"}`);
        const sessions = g.sessions.map(
          (s) =>
            `${s.number} ${s.status}${s.heldOn ? ` ${s.heldOn}` : s.plannedOn ? ` planned ${s.plannedOn}` : ""}${s.amendments ? ` (${s.amendments} amendments)` : ""}`,
        );
        lines.push(`  sessions: ${sessions.join("; ") || "—"}`);
      }
      c.out(lines.join("\n"));
    });

  const account = program
    .command("account")
    .description("enrolled accounts (by internal id; Telegram ids are never shown)");
  account
    .command("list")
    .description("accounts with role, language, groups and participant code")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const accounts = await listAccounts(await c.db());
      if (opts.json) return c.json({ accounts });
      if (accounts.length === 0) return c.out("no accounts yet");
      const rows = accounts.map((a) =>
        [
          String(a.id),
          a.role,
          a.locale ?? "-",
          a.active ? "active" : "inactive",
          a.groups.join(",") || "-",
          a.participant ?? "-",
        ].join("\t"),
      );
      c.out(["id\trole\tlocale\tstatus\tgroups\tparticipant", ...rows].join("\n"));
    });

  account
    .command("alerts")
    .description("opt a coordinator (admin) account in or out of protocol-deviation alerts")
    .argument("<id>", "internal account id (circle account list)")
    .addOption(new Option("--on", "send protocol-deviation alerts to this account"))
    .addOption(new Option("--off", "stop sending them").conflicts("on"))
    .option("--json", "machine-readable output")
    .action(async (id: string, opts: { on?: boolean; off?: boolean; json?: boolean }) => {
      if (!/^\d{1,9}$/.test(id))
        throw new UsageError(`the account id must be a number, got "${id}"`);
      if (!opts.on && !opts.off) throw new UsageError("choose --on or --off");
      const c = ctx();
      const db = await c.db();
      const accountId = Number(id);
      const on = Boolean(opts.on);
      await domain(() => setProtocolAlerts(db, accountId, on, { kind: "cli" }));
      if (opts.json) c.json({ account: accountId, alertsOptIn: on });
      else c.out(`account ${accountId}: protocol-deviation alerts ${on ? "on" : "off"}`);
    });

  const session = program.command("session").description("the group session calendar");
  session
    .command("plan")
    .description("set the planned date of a group's session (reminders and windows use it)")
    .argument("<group>", "group name (or id)")
    .argument("<number>", "session number from study.yaml")
    .argument("<date>", "planned date, YYYY-MM-DD")
    .option("--json", "machine-readable output")
    .action(async (groupRef: string, number: string, date: string, opts: { json?: boolean }) => {
      if (!/^\d{1,3}$/.test(number))
        throw new UsageError(`session number must be a whole number, got "${number}"`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
        throw new UsageError(`date must be YYYY-MM-DD, got "${date}"`);
      const c = ctx();
      const flows = await c.flows();
      const db = await c.db();
      const r = await domain(() =>
        planSession(db, flows, { group: groupRef, number: Number(number), date }, { kind: "cli" }),
      );
      const out = {
        group: r.group.name,
        number: r.session.number,
        plannedOn: isoDay(r.session.plannedOn),
        status: r.session.status,
      };
      if (opts.json) c.json(out);
      else c.out(`group ${out.group} session ${out.number} planned for ${out.plannedOn}`);
    });
}
