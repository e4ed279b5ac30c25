import { describe, expect, it } from "vitest";
import {
  assertTimeZone,
  formatLocal,
  isQuiet,
  localDayStart,
  quietEnd,
  zonedTime,
} from "../../src/scheduler/zone.js";

const iso = (d: Date) => d.toISOString();

describe("study time zone", () => {
  it("quiet hours across midnight end at the next local 'to' hour", () => {
    const q = { from: 21, to: 8 };
    // 22:30 in Shanghai (UTC+8) → 08:00 the next local day.
    expect(isQuiet(new Date("2030-03-04T14:30:00Z"), q, "Asia/Shanghai")).toBe(true);
    expect(iso(quietEnd(new Date("2030-03-04T14:30:00Z"), q, "Asia/Shanghai"))).toBe(
      "2030-03-05T00:00:00.000Z",
    );
    // 03:00 local → 08:00 the same local day.
    expect(iso(quietEnd(new Date("2030-03-04T19:00:00Z"), q, "Asia/Shanghai"))).toBe(
      "2030-03-05T00:00:00.000Z",
    );
    // 08:00 local exactly is no longer quiet; 20:59 is not yet.
    expect(isQuiet(new Date("2030-03-05T00:00:00Z"), q, "Asia/Shanghai")).toBe(false);
    expect(isQuiet(new Date("2030-03-05T12:59:00Z"), q, "Asia/Shanghai")).toBe(false);
    const day = new Date("2030-03-05T03:00:00Z");
    expect(quietEnd(day, q, "Asia/Shanghai")).toBe(day);
  });

  it("quiet hours within one day, none when disabled", () => {
    const q = { from: 12, to: 14 };
    expect(iso(quietEnd(new Date("2030-03-04T12:10:00Z"), q, "UTC"))).toBe(
      "2030-03-04T14:00:00.000Z",
    );
    expect(isQuiet(new Date("2030-03-04T11:59:00Z"), q, "UTC")).toBe(false);
    expect(isQuiet(new Date("2030-03-04T12:10:00Z"), null, "UTC")).toBe(false);
  });

  it("follows daylight saving time", () => {
    // Berlin switches to summer time on 2030-03-31: 08:00 local is 06:00 UTC from then on.
    const q = { from: 22, to: 8 };
    expect(iso(quietEnd(new Date("2030-03-30T23:00:00Z"), q, "Europe/Berlin"))).toBe(
      "2030-03-31T06:00:00.000Z",
    );
    expect(iso(quietEnd(new Date("2030-03-29T23:00:00Z"), q, "Europe/Berlin"))).toBe(
      "2030-03-30T07:00:00.000Z",
    );
    expect(iso(zonedTime(2030, 3, 31, 0, "Europe/Berlin"))).toBe("2030-03-30T23:00:00.000Z");
  });

  it("local days and readable dates", () => {
    const at = new Date("2030-03-04T17:30:00Z"); // 01:30 on the 5th in Shanghai
    expect(iso(localDayStart(at, "Asia/Shanghai"))).toBe("2030-03-04T16:00:00.000Z");
    expect(iso(localDayStart(at, "Asia/Shanghai", -21))).toBe("2030-02-11T16:00:00.000Z");
    expect(formatLocal(at, "Asia/Shanghai")).toBe("2030-03-05 01:30");
    expect(formatLocal(new Date("2030-03-04T16:00:00Z"), "Asia/Shanghai")).toBe("2030-03-05");
  });

  it("rejects an unknown time zone with a readable message", () => {
    expect(() => assertTimeZone("Mars/Olympus")).toThrow(/QUIET_HOURS_TZ "Mars\/Olympus"/);
    expect(() => assertTimeZone("Asia/Shanghai")).not.toThrow();
  });
});
