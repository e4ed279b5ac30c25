import { Option, type Command } from "commander";
import {
  addParticipant,
  DomainError,
  generateCode,
  type ArmChoice,
  type Gender,
} from "../../usecases/participants.js";
import { CliFailure, UsageError } from "../context.js";
import type { GetContext } from "./index.js";

export function registerParticipant(program: Command, ctx: GetContext): void {
  const participant = program
    .command("participant")
    .description("manage study participants (pseudonymous codes)");
  participant
    .command("add")
    .description('add a participant; code "auto" generates a random code such as LK-7Q3M')
    .argument("<code>", "pseudonymous participant code (never a name, bed or record number)")
    .addOption(
      new Option("--arm <arm>", "study arm; random = permuted blocks stratified by gender")
        .choices(["experimental", "control", "none", "random"])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--gender <gender>", "gender").choices(["male", "female"]).makeOptionMandatory(),
    )
    .requiredOption("--age <years>", "age in whole years")
    .option("--group <id>", "group the participant joins (created if new)")
    .option("--json", "machine-readable output")
    .action(
      async (
        code: string,
        opts: { arm: ArmChoice; gender: Gender; age: string; group?: string; json?: boolean },
      ) => {
        if (!/^\d{1,2}$/.test(opts.age))
          throw new UsageError(`--age must be whole years, got "${opts.age}"`);
        const c = ctx();
        const db = await c.db();
        try {
          const p = await addParticipant(
            db,
            {
              code: code === "auto" ? generateCode() : code,
              arm: opts.arm,
              gender: opts.gender,
              ageYears: Number(opts.age),
              group: opts.group,
            },
            { kind: "cli" },
            { seed: c.config.RANDOMISATION_SEED },
          );
          const out = {
            code: p.code,
            arm: p.arm,
            gender: p.gender,
            age: p.ageYears,
            group: opts.group ?? null,
          };
          if (opts.json) c.json(out);
          else
            c.out(
              `added ${p.code}: arm ${p.arm ?? "none"}, ${p.gender}, ${p.ageYears} years${opts.group ? `, group ${opts.group}` : ""}`,
            );
        } catch (e) {
          if (e instanceof DomainError) throw new CliFailure(e.message);
          throw e;
        }
      },
    );
}
