import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { IMPORT_HEADER } from "../../analysis/import.js";
import { importAnswers } from "../../usecases/import.js";
import { CliFailure } from "../context.js";
import type { GetContext } from "./index.js";

export function registerImport(program: Command, ctx: GetContext): void {
  program
    .command("import")
    .description(
      `import paper questionnaires; CSV header ${IMPORT_HEADER.join(",")} (all or nothing, idempotent)`,
    )
    .argument("<answers.csv>", "the answers file")
    .option("--json", "machine-readable output")
    .action(async (file: string, opts: { json?: boolean }) => {
      const c = ctx();
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw new CliFailure(
          `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      const result = await importAnswers(await c.db(), await c.flows(), text, {
        file,
        actor: { kind: "cli" },
      });
      if (!result.ok) {
        if (opts.json) c.json(result);
        throw new CliFailure(
          `${file}: ${result.errors.length} error(s); nothing was imported`,
          opts.json ? undefined : result.errors.join("\n"),
        );
      }
      const s = result.summary;
      if (opts.json) c.json(result);
      else
        c.out(
          [
            `imported ${file}: ${s.rows} row(s)`,
            `  participants created  ${s.participantsCreated}`,
            `  response sets         ${s.responseSetsCreated} created, ${s.responseSetsUpdated} updated`,
            `  answers imported      ${s.answersImported}`,
            `  answers unchanged     ${s.answersUnchanged}`,
          ].join("\n"),
        );
    });
}
