import type { Account } from "../../generated/prisma/client.js";
import { t } from "../../study/model.js";
import { slotOrder } from "../../usecases/assignments.js";
import { localeOf, type Services } from "../services.js";
import { consentStep } from "./enrolment.js";

/** `/status`: what is done and what is pending, never scores. */
export async function showStatus(s: Services, account: Account): Promise<void> {
  const locale = localeOf(s, account);
  const chat = account.chatId!;
  if (!account.participantId) {
    await s.messenger.send(chat, s.tr(locale, "status-none"));
    return;
  }
  const step = await consentStep(s, account.participantId);
  if (step === "withdrawn")
    return void (await s.messenger.send(chat, s.tr(locale, "status-withdrawn")));
  if (step === "declined")
    return void (await s.messenger.send(chat, s.tr(locale, "status-declined")));
  if (step === "consent" || step === "assent")
    return void (await s.messenger.send(chat, s.tr(locale, "status-needs-consent")));
  const sets = await s.db.responseSet.findMany({
    where: { participantId: account.participantId, respondent: { in: ["parent", "child"] } },
    include: { _count: { select: { answers: true } } },
    orderBy: { id: "asc" },
  });
  sets.sort((a, b) => slotOrder(s.flows, a.slot) - slotOrder(s.flows, b.slot) || a.id - b.id);
  if (sets.length === 0) return void (await s.messenger.send(chat, s.tr(locale, "status-none")));
  const lines = [s.tr(locale, "status-title"), ""];
  for (const rs of sets) {
    const ins = s.flows.instruments.get(rs.instrumentId);
    const tp = s.flows.study.timepoints.find((x) => x.id === rs.slot);
    const slotLabel = tp ? t(tp.label, locale) : rs.slot.replace("session:", "#");
    lines.push(
      s.tr(locale, "status-line", {
        mark: rs.status === "complete" ? "✅" : rs.status === "pending" ? "⬜" : "⏳",
        title: ins ? t(ins.title, locale) : rs.instrumentId,
        timepoint: slotLabel,
        answered: rs._count.answers,
        total: ins?.items.length ?? 0,
      }),
    );
  }
  await s.messenger.send(chat, lines.join("\n"));
}
