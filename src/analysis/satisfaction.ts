// Per-session satisfaction: the 0–40 total (the sum of the rated items, src/domain/satisfaction.ts)
// of every complete response to the study's after-session instrument, grouped by session number.
import type { Db } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import { ratedItems, satisfactionTotal } from "../domain/satisfaction.js";

export interface SessionSatisfactionRow {
  participant: string;
  group: string | null;
  session: number;
  values: Record<string, number | null>;
  total: number | null;
}

export async function satisfactionRows(
  db: Db,
  flows: LoadedFlows,
): Promise<SessionSatisfactionRow[]> {
  const instrumentId = flows.study.assignments.afterSession.parent[0];
  const instrument = instrumentId ? flows.instruments.get(instrumentId) : undefined;
  if (!instrument) return [];
  const items = ratedItems(instrument.items);
  const sets = await db.responseSet.findMany({
    where: { instrumentId: instrument.id, slot: { startsWith: "session:" }, status: "complete" },
    include: { answers: true, participant: { include: { group: true } } },
    orderBy: { id: "asc" },
  });
  return sets.map((rs) => {
    const values: Record<string, number | null> = {};
    for (const it of items) {
      const a = rs.answers.find((x) => x.itemId === it.id);
      values[it.id] = a && !a.skipped && a.value !== null ? a.value : null;
    }
    const total = satisfactionTotal(items, new Map(Object.entries(values)));
    return {
      participant: rs.participant?.code ?? "",
      group: rs.participant?.group?.name ?? null,
      session: Number(rs.slot.slice("session:".length)),
      values,
      total,
    };
  });
}
