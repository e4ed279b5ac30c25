// What the facilitator sees of a session log: each step's text and its buttons (the domain's
// logButtons, labelled here), the observation header, and the texts a step leaves behind
// (attendance saved, skipped, closed). Reads the facts it shows (groups, members, sets, answers);
// writes nothing. The facilitator's nicknames for children appear only here, in their own chat.
import type { Db } from "../db/client.js";
import { t, type Item, type LoadedFlows } from "../study/model.js";
import {
  logButtons,
  type LogButton,
  type LogContext,
  type LogFacts,
  type LogState,
} from "../domain/conversations/session-log.js";
import {
  activeMembers,
  displayName,
  facilitatorGroups,
  isoDay,
  localDay,
  nicknamesOf,
  parseDay,
  sessionNumbers,
} from "../usecases/groups.js";
import {
  defaultSessionNumber,
  isObservationSet,
  logQueue,
  type CloseResult,
} from "../usecases/sessions.js";
import { optionLabel } from "./questionnaire.js";
import { cutText, escapeHtml } from "./text.js";
import type { Button, Screen } from "./kind.js";

export interface SessionLogViewEnv {
  db: Db;
  accountId: number;
  flows: LoadedFlows;
  locale: string;
  tr(key: string, vars?: Record<string, string | number>): string;
  now(): Date;
  /** The study's time zone: which day "today" is. */
  timeZone: string;
}

/** The study's local day now, "YYYY-MM-DD". */
export function today(env: Pick<SessionLogViewEnv, "now" | "timeZone">): string {
  return localDay(env.now(), env.timeZone);
}

function dayBefore(day: string): string {
  return isoDay(new Date(parseDay(day)!.getTime() - 86_400_000))!;
}

function short(text: string, max = 40): string {
  return text.length <= max ? text : `${cutText(text, max - 1)}…`;
}

/** An answer as stored (undefined: never answered; null: skipped). */
function storedValue(
  a: { skipped: boolean; value: number | null; text: string | null } | undefined,
): number | string | null | undefined {
  return a ? (a.skipped ? null : (a.value ?? a.text)) : undefined;
}

export function sessionLogView(env: SessionLogViewEnv) {
  const { db, flows, locale, tr } = env;

  function sessionTitle(number: number): string {
    const def = flows.study.sessions.find((x) => x.number === number);
    return def ? t(def.title, locale) : "";
  }

  /** "<b>Group</b> · session 2: Title" (just the group before a number is chosen). */
  async function heading(ctx: LogContext): Promise<string> {
    const group = ctx.groupId ? await db.group.findUnique({ where: { id: ctx.groupId } }) : null;
    if (!group) return "";
    if (ctx.number === null) return `<b>${escapeHtml(group.name)}</b>`;
    return tr("fac-heading", {
      group: group.name,
      number: ctx.number,
      title: sessionTitle(ctx.number),
    });
  }

  /** "Observation 2 of 3: LK-7Q3M · Mia" under the session heading. */
  async function observationHeader(ctx: LogContext, responseSetId: number): Promise<string> {
    const q = await logQueue(db, flows, ctx.sessionId!);
    const idx = q.observations.findIndex((o) => o.rs.id === responseSetId);
    const p = q.observations[idx]?.participant;
    if (!p) return await heading(ctx);
    const nick = (await nicknamesOf(db, env.accountId)).get(p.id);
    return `${await heading(ctx)}\n\n${tr("fac-observe-child", { child: displayName(p.code, nick), k: idx + 1, n: q.observations.length })}`;
  }

  async function summary(sessionId: number): Promise<string> {
    const q = await logQueue(db, flows, sessionId);
    const all = await db.attendance.findMany({ where: { sessionId } });
    return tr("fac-summary", {
      present: all.filter((a) => a.present).length,
      absent: all.filter((a) => !a.present).length,
      observed: q.observations.filter((o) => o.rs.status === "complete").length,
      skipped: q.observations.filter((o) => o.rs.status === "skipped").length,
      reflection: q.reflection?.status === "complete" ? "✓" : "—",
    });
  }

  /** The text and the facts behind the buttons of one step. */
  async function body(
    state: LogState,
    head: string,
  ): Promise<{ html: string; facts: LogFacts; label(b: LogButton): string }> {
    const ctx = state.context;
    const common = (b: LogButton): string => {
      switch (b.op) {
        case "b":
          return tr("fac-back");
        case "x":
          return tr("fac-cancel");
        default:
          // Every other button is labelled by its step below.
          return b.op;
      }
    };
    switch (state.value) {
      case "pickGroup": {
        const groups = await facilitatorGroups(db, env.accountId);
        const names = new Map(groups.map((g) => [g.id, g.name]));
        return {
          html: tr("fac-pick-group"),
          facts: { groups: groups.map((g) => g.id) },
          label: (b) => (b.op === "g" ? names.get(b.groupId)! : common(b)),
        };
      }
      case "pickNumber": {
        const rows = await db.groupSession.findMany({ where: { groupId: ctx.groupId! } });
        const byNumber = new Map(rows.map((r) => [r.number, r]));
        const next = defaultSessionNumber(flows, rows);
        const lines = [head, "", tr("fac-pick-number")];
        for (const n of sessionNumbers(flows)) {
          const r = byNumber.get(n);
          const mark =
            r?.status === "closed"
              ? "✅"
              : r?.status === "logging"
                ? "✏️"
                : n === next
                  ? "▶"
                  : "▫️";
          const when = r?.heldOn
            ? isoDay(r.heldOn)
            : r?.plannedOn
              ? tr("fac-planned-on", { date: isoDay(r.plannedOn)! })
              : "";
          lines.push(
            `${mark} ${n} · ${escapeHtml(sessionTitle(n))}${when ? ` — ${escapeHtml(when)}` : ""}`,
          );
        }
        const groups = await facilitatorGroups(db, env.accountId);
        return {
          html: lines.join("\n"),
          facts: {
            groups: groups.map((g) => g.id),
            next,
            numbers: sessionNumbers(flows).map((n) => ({
              number: n,
              closed: byNumber.get(n)?.status === "closed",
            })),
          },
          label: (b) =>
            b.op !== "n"
              ? common(b)
              : b.next
                ? tr("fac-log-next", { number: b.number, title: short(sessionTitle(b.number), 30) })
                : b.closed
                  ? `${b.number} ✓`
                  : String(b.number),
        };
      }
      case "confirmAmend": {
        const row = await db.groupSession.findUniqueOrThrow({ where: { id: ctx.sessionId! } });
        return {
          html: `${head}\n\n${tr("fac-closed-already", { held: isoDay(row.heldOn) ?? "—", amendments: row.amendments })}`,
          facts: {},
          label: (b) => (b.op === "am" ? tr("fac-amend") : common(b)),
        };
      }
      case "amendReason":
        return { html: `${head}\n\n${tr("fac-amend-reason")}`, facts: {}, label: common };
      case "pickDate": {
        const row = await db.groupSession.findUnique({ where: { id: ctx.sessionId! } });
        const d0 = today(env);
        const held = isoDay(row?.heldOn);
        const key = {
          today: "fac-date-today",
          yesterday: "fac-date-yesterday",
          held: "fac-date-held",
          planned: "fac-date-planned",
        } as const;
        return {
          html: `${head}\n\n${tr("fac-pick-date")}${held ? `\n${tr("fac-date-current", { date: held })}` : ""}`,
          facts: {
            days: { today: d0, yesterday: dayBefore(d0), held, planned: isoDay(row?.plannedOn) },
          },
          label: (b) => (b.op === "d" ? tr(key[b.which], { date: b.date }) : common(b)),
        };
      }
      case "attendance": {
        const members = await activeMembers(db, ctx.groupId!);
        const nicks = await nicknamesOf(db, env.accountId);
        const byId = new Map(members.map((m) => [m.id, m]));
        const date = ctx.amending
          ? isoDay((await db.groupSession.findUnique({ where: { id: ctx.sessionId! } }))?.heldOn)
          : ctx.date;
        const text = members.length
          ? tr("fac-attendance", {
              date: date ?? "—",
              n: ctx.present.length,
              total: members.length,
            })
          : tr("fac-no-members");
        return {
          html: `${head}\n\n${text}`,
          facts: { members: members.map((m) => m.id) },
          label: (b) => {
            if (b.op === "t") {
              const m = byId.get(b.participantId)!;
              return `${b.present ? "✅" : "⬜"} ${displayName(m.code, nicks.get(m.id))}`;
            }
            if (b.op === "all") return tr("fac-all-present");
            if (b.op === "ok") return tr("fac-attendance-done", { n: b.count });
            return common(b);
          },
        };
      }
      case "logging": {
        // The header of the set being answered: the child (skippable) or the reflection.
        const rs =
          ctx.header === null
            ? null
            : await db.responseSet.findUnique({ where: { id: ctx.header } });
        const ins = rs ? flows.instruments.get(rs.instrumentId) : undefined;
        const intro = ins?.intro ? `\n<i>${escapeHtml(t(ins.intro, locale))}</i>` : "";
        if (rs && isObservationSet(flows, rs))
          return {
            html: `${await observationHeader(ctx, rs.id)}${intro}`,
            facts: { skippable: rs.id },
            label: (b) => (b.op === "sk" ? tr("fac-skip-child") : common(b)),
          };
        return { html: `${head}\n\n${tr("fac-reflect")}${intro}`, facts: {}, label: common };
      }
      case "confirmClose":
        return {
          html: `${head}\n\n${await summary(ctx.sessionId!)}\n\n${tr("fac-confirm-close")}`,
          facts: {},
          label: (b) =>
            b.op === "cl" ? tr("fac-close") : b.op === "later" ? tr("fac-not-yet") : common(b),
        };
      case "amendMenu": {
        const row = await db.groupSession.findUniqueOrThrow({ where: { id: ctx.sessionId! } });
        const q = await logQueue(db, flows, row.id);
        const nicks = await nicknamesOf(db, env.accountId);
        const present = await db.attendance.count({ where: { sessionId: row.id, present: true } });
        const codes = new Map(q.observations.map((o) => [o.participant.id, o.participant.code]));
        const sets = [
          ...q.observations.map((o) => o.rs),
          ...(q.reflection ? [q.reflection] : []),
        ].map((rs) => ({ id: rs.id, participantId: rs.participantId, status: rs.status }));
        return {
          html: `${head}\n\n${tr("fac-amend-menu", { amendment: row.amendments })}`,
          facts: { sets },
          label: (b) => {
            switch (b.op) {
              case "ed":
                return tr("fac-edit-date", { date: isoDay(row.heldOn) ?? "—" });
              case "ea":
                return tr("fac-edit-attendance", { n: present });
              case "es":
              case "rd": {
                if (b.participantId === null)
                  return `${tr("fac-edit-reflection")} ${b.status === "complete" ? "✓" : "…"}`;
                const mark = b.status === "complete" ? "✓" : b.status === "skipped" ? "—" : "…";
                const code = codes.get(b.participantId)!;
                return `👁 ${displayName(code, nicks.get(b.participantId))} ${mark}`;
              }
              case "cl":
                return tr("fac-finish-amend");
              default:
                return common(b);
            }
          },
        };
      }
      case "editSet": {
        const rs = await db.responseSet.findUniqueOrThrow({
          where: { id: ctx.editRs! },
          include: { answers: true, participant: true },
        });
        const ins = flows.instruments.get(rs.instrumentId)!;
        const nicks = await nicknamesOf(db, env.accountId);
        const who = rs.participant
          ? displayName(rs.participant.code, nicks.get(rs.participant.id))
          : tr("fac-reflection-name");
        return {
          html: `${head}\n\n${tr("fac-edit-set", { who, title: t(ins.title, locale) })}`,
          facts: { items: ins.items.length },
          label: (b) => {
            if (b.op !== "ei") return common(b);
            const item = ins.items[b.index]!;
            const value = storedValue(rs.answers.find((x) => x.itemId === item.id));
            return `${b.index + 1}. ${short(t(item.text, locale), 26)}: ${short(optionLabel(item, value, locale), 16)}`;
          },
        };
      }
      case "editItem": {
        const rs = await db.responseSet.findUniqueOrThrow({
          where: { id: ctx.editRs! },
          include: { answers: true },
        });
        const item: Item = flows.instruments
          .get(rs.instrumentId)!
          .items.find((i) => i.id === ctx.editItem)!;
        const value = storedValue(rs.answers.find((x) => x.itemId === item.id));
        const lines = [
          head,
          "",
          escapeHtml(t(item.text, locale)),
          "",
          `<i>${tr("fac-current", { answer: optionLabel(item, value, locale) })}</i>`,
        ];
        const choice = item.type === "choice";
        if (!choice) lines.push(`<i>${tr("fac-type-new")}</i>`);
        const options = choice ? item.options.map((o) => t(o.label, locale)) : [];
        return {
          html: lines.join("\n"),
          facts: { item: { options, required: item.required } },
          label: (b) =>
            b.op === "v" ? options[b.index]! : b.op === "clr" ? tr("fac-clear") : common(b),
        };
      }
      case "closed":
      case "cancelled":
        return { html: "", facts: {}, label: common };
    }
  }

  return {
    heading,
    observationHeader,

    async screen(state: LogState): Promise<Screen> {
      const { html, facts, label } = await body(state, await heading(state.context));
      const buttons = logButtons(state, facts).map((row) =>
        row.map((b): Button => {
          const arg = buttonArg(b);
          return { text: label(b), op: b.op, ...(arg === undefined ? {} : { arg }) };
        }),
      );
      return { html, buttons };
    },

    /** The attendance message once saved: who was there and who was not, without buttons. */
    async attendanceSaved(
      ctx: LogContext,
      saved: { present: number[]; absent: number[]; heldOn: string },
    ): Promise<string> {
      const members = await activeMembers(db, ctx.groupId!);
      const nicks = await nicknamesOf(db, env.accountId);
      const names = (ids: number[]) =>
        ids
          .map((id) => members.find((m) => m.id === id))
          .filter((m) => m !== undefined)
          .map((m) => escapeHtml(displayName(m.code, nicks.get(m.id))))
          .join(", ") || "—";
      return `${await heading(ctx)}\n\n${tr("fac-attendance-saved", { date: saved.heldOn })}\n✅ ${names(saved.present)}\n⬜ ${names(saved.absent)}`;
    },

    /** The observation header once its child is done: observed or skipped. */
    async headerOutcome(
      ctx: LogContext,
      responseSetId: number,
      outcome: "observed" | "skipped",
    ): Promise<string> {
      const key = outcome === "observed" ? "fac-observed" : "fac-skipped-child";
      return `${await observationHeader(ctx, responseSetId)}\n<b>${tr(key)}</b>`;
    },

    /** The confirmation message once the session is closed (again). */
    async closedText(ctx: LogContext, amendment: boolean): Promise<string> {
      return `${await heading(ctx)}\n\n${tr(amendment ? "fac-amend-saved" : "fac-closed")}`;
    },

    /** What the close set in motion: families asked, the group's end, timepoints opening later. */
    closeReport(result: CloseResult): string {
      const families = result.asked;
      const lines = [
        families
          ? tr("fac-dispatched", { families, sets: result.satisfactionSets })
          : tr("fac-dispatched-none"),
      ];
      if (result.groupEnded) lines.push(tr("fac-group-ended"));
      for (const later of result.opensLater)
        lines.push(tr("fac-opens-later", { timepoint: later.timepoint, date: later.on }));
      return lines.join("\n");
    },
  };
}

export type SessionLogView = ReturnType<typeof sessionLogView>;

/** The argument a button's press carries back (an id, a number, a day or an index). */
function buttonArg(b: LogButton): string | number | undefined {
  switch (b.op) {
    case "g":
      return b.groupId;
    case "n":
      return b.number;
    case "d":
      return b.date;
    case "t":
      return b.participantId;
    case "sk":
    case "es":
    case "rd":
      return b.responseSetId;
    case "ei":
    case "v":
      return b.index;
    default:
      return undefined;
  }
}
