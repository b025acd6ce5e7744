import { usageError } from "../core/errors.ts";
import { isoUtc } from "../core/state.ts";

/** What --since / --until accept, for the error message and the help. */
export const PERIOD_FORMS = "a duration like 90m, 24h, 7d (or 1h30m) before now, or a UTC time like 2026-12-01T06:00Z or a date like 2026-12-01";

const UNIT_SEC: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };
const DURATION_RE = /^(?:\d+[smhdw])+$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Seconds of a duration like `90m`, `24h`, `1h30m`; null when the text is not one. */
export function parseDurationSec(text: string): number | null {
  if (!DURATION_RE.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * UNIT_SEC[m[2]!]!;
  return total;
}

/**
 * One bound of the period: a duration counts back from `now`; a time without a
 * zone is UTC (orch writes every time in UTC). Throws a usage error otherwise.
 */
export function parseBound(text: string, flag: string, now: Date): Date {
  const t = text.trim();
  const sec = parseDurationSec(t.toLowerCase());
  if (sec !== null) return new Date(now.getTime() - sec * 1000);
  let date: Date | null = null;
  const d = DATE_RE.exec(t);
  if (d) date = utc(+d[1]!, +d[2]!, +d[3]!, 0, 0, 0);
  const m = TIME_RE.exec(t);
  if (m) {
    date = utc(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0);
    const zone = m[7];
    if (date && zone && zone.toUpperCase() !== "Z") {
      const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
      const offsetMin = (z[1] === "-" ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
      date = new Date(date.getTime() - offsetMin * 60_000);
    }
  }
  if (!date) throw usageError(`${flag}: expected ${PERIOD_FORMS}; got '${text}'`);
  return date;
}

/** A calendar-checked UTC date (rejects 2026-02-30 instead of rolling it over). */
function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): Date | null {
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const ok = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
  return ok ? date : null;
}

export interface PeriodBounds {
  since: Date;
  until: Date;
}

/** The report's period from the flags; the default is the last 24 hours. */
export function parsePeriod(opts: { since?: string; until?: string; now: Date }): PeriodBounds {
  const since = parseBound(opts.since ?? "24h", "--since", opts.now);
  const until = opts.until === undefined ? opts.now : parseBound(opts.until, "--until", opts.now);
  if (since.getTime() >= until.getTime()) {
    throw usageError(`--since (${isoUtc(since)}) must be before --until (${isoUtc(until)}); widen the period`);
  }
  return { since, until };
}
