// Research data leaving Circle: the export folder (`circle export`, `/export`), the qualitative
// codes' CSV files and the REFI-QDA project (`circle report --codes --out … --qdpx …`). The
// analysis modules read the data (in one snapshot on the read-only connection, so no writer waits)
// and write the files; each use case then records in the audit trail what left, by whom.
import type { Db } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import type { LoadedFlows } from "../study/model.js";
import { writeExport, type ExportOptions, type ExportResult } from "../analysis/export.js";
import { writeQdpx, type QdpxOptions } from "../analysis/qdpx.js";
import {
  writeCodeCsv,
  type CodedNote,
  type CodeReport,
  type WrittenFile,
} from "../analysis/qualitative.js";

/** Writes the export into `dir` (files of the same names are replaced) and audits it. */
export async function exportData(
  db: Db,
  flows: LoadedFlows,
  dir: string,
  actor: AuditActor,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const { scripts, ...result } = await writeExport(db, flows, dir, options);
  await recordExport(db, actor, "export", { files: result.files, ...scripts });
  return result;
}

/** Writes codes_summary.csv and coded_segments.csv into `dir` and audits them. */
export async function exportCodeCsv(
  db: Db,
  flows: LoadedFlows,
  report: CodeReport,
  notes: readonly CodedNote[],
  dir: string,
  opts: { actor: AuditActor; locale: string },
): Promise<WrittenFile[]> {
  const files = writeCodeCsv(flows, report, notes, dir, opts.locale);
  await recordExport(db, opts.actor, "export.codes", { dir, files });
  return files;
}

/** Writes the notes as a REFI-QDA project (.qdpx) and audits it. */
export async function exportQdpx(
  db: Db,
  flows: LoadedFlows,
  notes: readonly CodedNote[],
  file: string,
  opts: QdpxOptions & { actor: AuditActor },
): Promise<{ file: string; sources: number; codings: number }> {
  const q = writeQdpx(flows, notes, file, opts);
  await recordExport(db, opts.actor, "export.qdpx", {
    file,
    sources: q.sources,
    codings: q.codings,
  });
  return q;
}

async function recordExport(
  db: Db,
  actor: AuditActor,
  action: string,
  data: Record<string, unknown>,
): Promise<void> {
  await db.$transaction(async (tx) => {
    await audit(tx, { actor, action, entity: "Export", data });
  });
}
