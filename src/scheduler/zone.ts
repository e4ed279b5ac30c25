// Wall-clock arithmetic in the study's time zone (QUIET_HOURS_TZ): quiet hours, local days for
// measurement windows, and dates as people read them. Plain Intl, no time-zone library.

export interface QuietHours {
  /** Local hour (0-23) quiet time starts. */
  from: number;
  /** Local hour (0-23) quiet time ends. */
  to: number;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a readable error for a time zone Intl does not know. */
export function assertTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new Error(
      `QUIET_HOURS_TZ "${timeZone}" is not a known IANA time zone (e.g. "Asia/Shanghai", "UTC")`,
    );
  }
}

export function zonedParts(at: Date, timeZone: string): Parts {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at))
    if (p.type !== "literal") out[p.type] = Number(p.value);
  return {
    year: out.year!,
    month: out.month!,
    day: out.day!,
    hour: out.hour! % 24,
    minute: out.minute!,
    second: out.second!,
  };
}

/** How far the zone's wall clock is ahead of UTC at this instant. */
function offsetMs(at: Date, timeZone: string): number {
  const p = zonedParts(at, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - (at.getTime() - at.getUTCMilliseconds());
}

/** The instant a wall-clock time occurs in the zone (day may overflow: day 32 is next month). */
export function zonedTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  timeZone: string,
): Date {
  const guess = Date.UTC(year, month - 1, day, hour);
  const first = guess - offsetMs(new Date(guess), timeZone);
  const second = guess - offsetMs(new Date(first), timeZone);
  return new Date(second);
}

/** Midnight (local) of the day `at` falls on, moved by `days` local days. */
export function localDayStart(at: Date, timeZone: string, days = 0): Date {
  const p = zonedParts(at, timeZone);
  return zonedTime(p.year, p.month, p.day + days, 0, timeZone);
}

export function isQuiet(at: Date, quiet: QuietHours | null, timeZone: string): boolean {
  if (!quiet || quiet.from === quiet.to) return false;
  const h = zonedParts(at, timeZone).hour;
  return quiet.from < quiet.to ? h >= quiet.from && h < quiet.to : h >= quiet.from || h < quiet.to;
}

/** `at` itself outside quiet hours, else the moment quiet hours end (local hour `to`, :00). */
export function quietEnd(at: Date, quiet: QuietHours | null, timeZone: string): Date {
  if (!quiet || !isQuiet(at, quiet, timeZone)) return at;
  const p = zonedParts(at, timeZone);
  // Past midnight (or a window within one day) the end is today; before midnight it is tomorrow.
  const tomorrow = quiet.from > quiet.to && p.hour >= quiet.from;
  return zonedTime(p.year, p.month, p.day + (tomorrow ? 1 : 0), quiet.to, timeZone);
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2030-03-04", or "2030-03-04 14:30" when the instant is not local midnight. */
export function formatLocal(at: Date, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  const day = `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  return p.hour === 0 && p.minute === 0 ? day : `${day} ${pad(p.hour)}:${pad(p.minute)}`;
}

export function formatLocalDay(at: Date, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/**
 * A day in the study's calendar. Session dates are calendar days, stored as UTC midnight of that
 * date (the session log's convention); any other instant (e.g. an enrolment time) falls on the
 * local day it occurs in.
 */
export interface StudyDay {
  year: number;
  month: number;
  day: number;
  /** The instant itself for an instant; local midnight starting the day for a calendar date. */
  at: Date;
  /** True when only the date is known. */
  dateOnly: boolean;
}

export function isCalendarDate(d: Date): boolean {
  return d.getTime() % 86_400_000 === 0;
}

export function studyDay(d: Date, timeZone: string, opts: { instant?: boolean } = {}): StudyDay {
  if (!opts.instant && isCalendarDate(d)) {
    const [year, month, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    return { year, month, day, at: zonedTime(year, month, day, 0, timeZone), dateOnly: true };
  }
  const p = zonedParts(d, timeZone);
  return { year: p.year, month: p.month, day: p.day, at: d, dateOnly: false };
}

/** The instant at local `hour` o'clock, `days` days after the study day's date. */
export function dayAt(day: StudyDay, days: number, hour: number, timeZone: string): Date {
  return zonedTime(day.year, day.month, day.day + days, hour, timeZone);
}

/** "2030-03-07" for a date, "2030-03-07 14:30" for an instant (local). */
export function formatDay(day: StudyDay, timeZone: string): string {
  if (!day.dateOnly) return formatLocal(day.at, timeZone);
  return `${day.year}-${pad(day.month)}-${pad(day.day)}`;
}
