import { Option, type Command } from "commander";
import { DomainError } from "../../usecases/participants.js";
import { botUsername, createInvite, deepLink, ROLES, type Role } from "../../usecases/invites.js";
import { CliFailure } from "../context.js";
import type { GetContext } from "./index.js";

export function registerInvite(program: Command, ctx: GetContext): void {
  const invite = program.command("invite").description("single-use invite codes (deep links)");
  invite
    .command("create")
    .description("create a single-use invite; prints {code, link}")
    .addOption(
      new Option("--role <role>", "role the invite grants").choices(ROLES).makeOptionMandatory(),
    )
    .option("--participant <code>", "participant a parent invite is bound to")
    .option("--group <id>", "group a facilitator invite assigns")
    .option("--ttl-hours <hours>", "hours until the code expires (default INVITE_TTL_HOURS)")
    .option("--json", "machine-readable output (the default output is JSON too)")
    .action(
      async (opts: { role: Role; participant?: string; group?: string; ttlHours?: string }) => {
        const c = ctx();
        const db = await c.db();
        const ttl = opts.ttlHours === undefined ? c.config.INVITE_TTL_HOURS : Number(opts.ttlHours);
        if (!Number.isFinite(ttl) || ttl <= 0)
          throw new CliFailure(`--ttl-hours must be a positive number`);
        try {
          const { code } = await createInvite(
            db,
            {
              role: opts.role,
              participantCode: opts.participant,
              group: opts.group,
              ttlHours: ttl,
            },
            { kind: "cli" },
          );
          const link = deepLink(await botUsername(db, c.config.BOT_USERNAME), code);
          // Exactly the documented contract: {"code","link"} (the expiry follows INVITE_TTL_HOURS).
          c.json({ code, link });
        } catch (e) {
          if (e instanceof DomainError) throw new CliFailure(e.message);
          throw e;
        }
      },
    );
}
