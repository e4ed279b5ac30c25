// The session-satisfaction total, computed one way (src/domain/satisfaction.ts): the rules on
// their own, then every consumer (progress, the export's satisfaction.csv, the report's
// per-session rows, the facilitators' low-rating check) giving the same totals for the same
// stored answers, partial and skipped ones included.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkRating,
  divergence,
  ratedItems,
  ratingItems,
  satisfactionTotal,
  type RatingItem,
} from "../../src/domain/satisfaction.js";
import { satisfactionTotals } from "../../src/analysis/progress.js";
import { satisfactionRows } from "../../src/analysis/satisfaction.js";
import { exportData } from "../../src/usecases/export.js";
import { responseSetKey } from "../../src/usecases/assignments.js";
import { ratingItems as sessionRatingItems } from "../../src/usecases/sessions.js";
import { shippedFlows } from "../support/bot.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const flows = shippedFlows();
const sat = flows.instruments.get("session-satisfaction")!;
const th = flows.study.thresholds;

const item = (id: string, type: RatingItem["type"], lo = 0, hi = 10): RatingItem => ({
  id,
  type,
  min: type === "text" ? null : lo,
  max: type === "text" ? null : hi,
  options:
    type === "choice" ? Array.from({ length: hi - lo + 1 }, (_, i) => ({ value: lo + i })) : [],
});

describe("session-satisfaction rules (pure)", () => {
  it("totals the numeric items only, and only when every one is answered", () => {
    const items = [item("a", "choice"), item("b", "number"), item("note", "text")];
    expect(ratedItems(items).map((i) => i.id)).toEqual(["a", "b"]);
    expect(
      satisfactionTotal(
        items,
        new Map([
          ["a", 7],
          ["b", 3],
          ["note", null],
        ]),
      ),
    ).toBe(10);
    expect(satisfactionTotal(items, new Map([["a", 7]]))).toBeNull();
    expect(
      satisfactionTotal(
        items,
        new Map([
          ["a", 7],
          ["b", null],
        ]),
      ),
    ).toBeNull();
    // 0 is an answer, not a gap.
    expect(
      satisfactionTotal(
        items,
        new Map([
          ["a", 0],
          ["b", 0],
        ]),
      ),
    ).toBe(0);
  });

  it("the shipped session rating: four 0–10 items, total 0–40", () => {
    expect(ratedItems(sat.items).map((i) => i.id)).toEqual([
      "relationship",
      "goals",
      "approach",
      "overall",
    ]);
    expect(ratingItems(sat.items)).toEqual(ratedItems(sat.items));
    expect(sessionRatingItems(sat)).toEqual(ratedItems(sat.items));
    expect(ratingItems([item("x", "choice", 1, 5)])).toBeNull();
    expect(ratingItems([item("note", "text")])).toBeNull();
  });

  it("the low-rating check totals with the same function", () => {
    const items = ratingItems(sat.items)!;
    for (const values of [
      [9, 9, 9, 9],
      [10, 10, 10, 8],
      [0, 0, 0, 0],
      [10, null, 3, 10],
    ]) {
      const m = new Map(items.map((it, i) => [it.id, values[i] ?? null]));
      expect(checkRating(items, m, th).total).toBe(satisfactionTotal(items, m));
    }
    expect(checkRating(items, new Map(items.map((it) => [it.id, 9])), th)).toEqual({
      total: 36,
      max: 40,
      low: [],
      alert: false,
    });
  });

  it("divergence compares shares of the two ranges, with a tolerance at the threshold", () => {
    expect(divergence({ value: 5, min: 1, max: 5 }, [20], 40, 0.3)).toMatchObject({
      ownShare: 1,
      membersShare: 0.5,
      mean: 20,
      flagged: true,
    });
    expect(divergence({ value: 2, min: 1, max: 5 }, [22], 40, 0.3)!.flagged).toBe(false);
    expect(divergence({ value: 3, min: 1, max: 5 }, [], 40, 0.3)).toBeNull();
  });

  it("is computed nowhere else: the consumers import it", () => {
    const src = (f: string) => readFileSync(join("src", f), "utf8");
    for (const f of ["analysis/progress.ts", "analysis/satisfaction.ts", "usecases/sessions.ts"])
      expect(src(f), f).toContain("domain/satisfaction.js");
    // No second summing loop over the answers in the report rows or the session service.
    expect(src("analysis/satisfaction.ts")).not.toMatch(/reduce/);
    expect(src("usecases/sessions.ts")).not.toMatch(/total \+=|sum \+=/);
  });
});

describe("every consumer gives the same totals", () => {
  let tmp: TempDb;
  beforeEach(async () => {
    tmp = await tempDatabase();
  });
  afterEach(async () => {
    await tmp.cleanup();
  });

  it("progress, satisfaction.csv, the report's rows and the alert check agree, set by set", async () => {
    const db = tmp.db;
    const g = await db.group.create({ data: { name: "A", arm: "experimental" } });
    const sessions = [];
    for (const number of [1, 2])
      sessions.push(
        await db.groupSession.create({
          data: {
            groupId: g.id,
            number,
            status: "closed",
            heldOn: new Date(Date.UTC(2030, 0, number)),
          },
        }),
      );
    // Deterministic answers: complete, with a 0, with a skipped item, with a missing item.
    const patterns: (number | "skip" | "missing")[][] = [
      [10, 9, 8, 7],
      [0, 10, 0, 10],
      [5, "skip", 5, 5],
      [3, 3, "missing", 3],
      [9, 9, 9, 9],
      [1, 2, 3, 4],
    ];
    const rated = ratedItems(sat.items);
    let n = 0;
    for (const [pi, pattern] of patterns.entries()) {
      const p = await db.participant.create({
        data: {
          code: `S${pi}`,
          arm: "experimental",
          gender: pi % 2 ? "male" : "female",
          ageYears: 8,
          status: "consented",
          groupId: g.id,
        },
      });
      for (const session of sessions) {
        const slot = `session:${session.number}`;
        const rs = await db.responseSet.create({
          data: {
            key: responseSetKey({
              participantId: p.id,
              sessionId: session.id,
              slot,
              instrumentId: sat.id,
              respondent: "parent",
            }),
            participantId: p.id,
            sessionId: session.id,
            slot,
            instrumentId: sat.id,
            instrumentVersion: sat.version,
            instrumentHash: sat.hash,
            respondent: "parent",
            status: "complete",
            completedAt: new Date(),
          },
        });
        for (const [i, it] of rated.entries()) {
          const v = pattern[(i + session.number + n) % 4]!;
          if (v === "missing") continue;
          await db.answer.create({
            data: {
              responseSetId: rs.id,
              itemId: it.id,
              value: v === "skip" ? null : v,
              skipped: v === "skip",
              instrumentHash: sat.hash,
              respondent: "parent",
            },
          });
        }
        n++;
      }
    }

    const fromProgress = await satisfactionTotals(db, flows);
    const rows = await satisfactionRows(db, flows);
    const dir = join(tmp.dir, "export");
    await exportData(db, flows, dir, { kind: "cli" });
    const csv = readFileSync(join(dir, "satisfaction.csv"), "utf8").trim().split(/\r?\n/);
    const header = csv[0]!.split(",");
    const csvTotals = csv
      .slice(1)
      .map((l) => l.split(","))
      .map((c) => ({
        key: `${c[header.indexOf("participant")]}:${c[header.indexOf("session")]}`,
        total: c[header.indexOf("total")] === "" ? null : Number(c[header.indexOf("total")]),
      }));
    const codeOf = new Map((await db.participant.findMany()).map((p) => [p.id, p.code] as const));
    const numberOf = new Map(sessions.map((x) => [x.id, x.number] as const));

    expect(fromProgress).toHaveLength(patterns.length * 2);
    const totals = fromProgress.map((t) => t.total);
    expect(totals.filter((t) => t === null).length).toBeGreaterThan(0);
    expect(totals.filter((t) => t !== null).length).toBeGreaterThan(0);
    for (const t of fromProgress) {
      const key = `${codeOf.get(t.participantId!)}:${numberOf.get(t.sessionId)}`;
      // The one function, on the stored answers.
      expect(t.total).toBe(satisfactionTotal(sat.items, t.values));
      expect(checkRating(ratingItems(sat.items)!, t.values, th).total).toBe(t.total);
      expect(rows.find((r) => `${r.participant}:${r.session}` === key)?.total).toBe(t.total);
      expect(csvTotals.find((r) => r.key === key)?.total).toBe(t.total);
      // And by hand: the sum of the four answers, null if one is skipped or missing.
      const vals = rated.map((it) => t.values.get(it.id));
      const byHand = vals.every((v) => typeof v === "number")
        ? (vals as number[]).reduce((a, b) => a + b, 0)
        : null;
      expect(t.total).toBe(byHand);
    }
  });
});
