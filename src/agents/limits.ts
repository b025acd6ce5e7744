/**
 * Usage-limit reset times and how long to wait for them (reference §1.1, §1.2, §1.4).
 * Every form the CLIs were seen to print is parsed here; zones go through Intl, so
 * there is no time-zone dependency. A reset that is already past yields null, never a
 * zero wait: otherwise the loop would spin "re-run → same refusal" without sleeping.
 */

/** Curly apostrophes to straight ones, `·` to a space, runs of white space to one. */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/[\u2018\u2019\u02BC]/g, "'")
    .replace(/\u00B7/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Epoch seconds (or milliseconds) to a Date; null when missing, invalid or not in the future. */
export function epochToDate(value: unknown, now: Date): Date | null {
  const n = typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) return null;
  const ms = n > 1e12 ? n : n * 1000;
  return ms > now.getTime() ? new Date(ms) : null;
}

/** "five_hour" | "weekly" | "monthly" | the CLI's own name, from claude's rateLimitType. */
export function windowFromType(type: unknown): string | undefined {
  if (typeof type !== "string" || !type) return undefined;
  if (type === "five_hour") return "five_hour";
  if (type.startsWith("seven_day")) return "weekly";
  return type;
}

/** The limit window a message names, when it names one. */
export function windowFromText(text: string): string | undefined {
  const t = normalizeText(text);
  if (/\bweekly\b|\bseven[_ -]day\b|\bevery week\b/i.test(t)) return "weekly";
  if (/\bmonthly\b/i.test(t)) return "monthly";
  if (/\bsession limit\b|\b5-hour\b|\bfive[_ -]hour\b/i.test(t)) return "five_hour";
  return undefined;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };
const DAY_MS = 86_400_000;
/** A clock time (no date) that passed at most this long ago names the reset that just happened. */
const JUST_PASSED_MS = 10 * 60_000;

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

const formatters = new Map<string, Intl.DateTimeFormat | null>();
function formatterFor(zone: string): Intl.DateTimeFormat | null {
  if (!formatters.has(zone)) {
    let f: Intl.DateTimeFormat | null = null;
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      f = null; // RangeError: not a zone Intl knows
    }
    formatters.set(zone, f);
  }
  return formatters.get(zone)!;
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
}

/** The wall-clock date and time of an instant in a zone. */
function wallTime(instant: number, f: Intl.DateTimeFormat): Wall & { s: number } {
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(instant))) if (part.type !== "literal") p[part.type] = Number(part.value);
  return { y: p.year!, mo: p.month! - 1, d: p.day!, h: p.hour! % 24, mi: p.minute!, s: p.second! };
}

/** The instant a wall-clock time in a zone names (the later one's offset wins across a DST gap). */
function zonedInstant(w: Wall, f: Intl.DateTimeFormat): number {
  const target = Date.UTC(w.y, w.mo, w.d, w.h, w.mi);
  let guess = target;
  for (let i = 0; i < 3; i++) {
    const seen = wallTime(guess, f);
    const diff = Date.UTC(seen.y, seen.mo, seen.d, seen.h, seen.mi, seen.s) - target;
    if (diff === 0) break;
    guess -= diff;
  }
  return guess;
}

function to24h(h: number, ap: string | undefined): number | null {
  if (!ap) return h <= 23 ? h : null;
  if (h < 1 || h > 12) return null;
  const pm = ap.toLowerCase().startsWith("p");
  return (h % 12) + (pm ? 12 : 0);
}

interface ClockSpec {
  month?: string;
  day?: string;
  year?: string;
  hour: string;
  minute?: string;
  ampm?: string;
  zone: string;
}

/** Resolve a (date and) clock time in a zone: no date = next occurrence; a date in the past = null. */
function resolveClock(spec: ClockSpec, now: Date): Date | null {
  const f = formatterFor(spec.zone);
  if (!f) return null;
  const h = to24h(Number(spec.hour), spec.ampm);
  const mi = spec.minute === undefined ? 0 : Number(spec.minute);
  if (h === null || mi > 59) return null;
  const today = wallTime(now.getTime(), f);
  if (spec.month === undefined) {
    const t = now.getTime();
    const candidates = [-1, 0, 1, 2].map((add) => {
      // Step the calendar date in UTC arithmetic, then place the time in the zone.
      const day = new Date(Date.UTC(today.y, today.mo, today.d) + add * DAY_MS);
      return zonedInstant({ y: day.getUTCFullYear(), mo: day.getUTCMonth(), d: day.getUTCDate(), h, mi }, f);
    });
    // The CLIs print the minute, truncated ("8:13am" for 08:13:40), and the server's clock is
    // not ours: a time that passed a few minutes ago has just reset, it is not tomorrow's.
    if (candidates.some((at) => at <= t && t - at <= JUST_PASSED_MS)) return null;
    const next = candidates.find((at) => at > t);
    return next === undefined ? null : new Date(next);
  }
  const mo = MONTHS[spec.month.slice(0, 3).toLowerCase()];
  const d = Number(spec.day);
  if (mo === undefined || d < 1 || d > 31) return null;
  const years = spec.year ? [Number(spec.year)] : [today.y - 1, today.y, today.y + 1];
  // Without a year, the reading nearest to now is meant ("Jan 2" seen on Dec 30 is next year's).
  let best: number | null = null;
  for (const y of years) {
    const probe = new Date(Date.UTC(y, mo, d));
    if (probe.getUTCMonth() !== mo) continue; // Feb 30
    const at = zonedInstant({ y, mo, d, h, mi }, f);
    if (best === null || Math.abs(at - now.getTime()) < Math.abs(best - now.getTime())) best = at;
  }
  return best !== null && best > now.getTime() ? new Date(best) : null;
}

const UNIT_MS: [RegExp, number][] = [
  [/^d(ays?)?$/i, DAY_MS],
  [/^h(ours?|rs?)?$/i, 3_600_000],
  [/^m(in(ute)?s?)?$/i, 60_000],
  [/^s(ec(ond)?s?)?$/i, 1000],
];

function durationMs(text: string): number | null {
  let total = 0;
  let any = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
    const unit = UNIT_MS.find(([re]) => re.test(m[2]!));
    if (!unit) continue;
    total += Number(m[1]) * unit[1];
    any = true;
  }
  return any && total > 0 ? total : null;
}

const EPOCH_PIPE = /\|\s*(\d{10,13})\b/;
const ISO = /\b(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))/;
const RELATIVE = /\b(?:resets?|try again|retry|reset)\s+in\s+((?:\d+(?:\.\d+)?\s*(?:days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b[\s,]*(?:and\s+)?)+)/i;
const RESETS =
  /\bresets?\s+(?:at\s+|on\s+)?(?:(?<month>[A-Za-z]{3})[a-z]*\.?\s+(?<day>\d{1,2})(?:st|nd|rd|th)?(?:,\s*(?<year>\d{4}))?(?:,|\s+at)?\s+)?(?<hour>\d{1,2})(?::(?<minute>\d{2}))?\s*(?<ampm>[ap]\.?m\b\.?)?(?:\s*\((?<zone>[^()]+)\))?/i;
const TRY_AGAIN_AT =
  /\btry again at\s+(?:(?<month>[A-Za-z]{3})[a-z]*\.?\s+(?<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(?<year>\d{4}),?\s+)?)?(?<hour>\d{1,2})(?::(?<minute>\d{2}))?\s*(?<ampm>[ap]\.?m\b\.?)?(?:\s*\((?<zone>[^()]+)\))?/i;

/**
 * The reset time a limit message names, in UTC; null when it names none, names one
 * already past, or names a zone Intl does not know. Forms: `|<epoch>`, an ISO stamp,
 * `resets [Mon D[, | at]] H[:MM]am|pm [(Zone)]`, `try again at [Mon Dth, YYYY] H:MM AM|PM`
 * (the agent host's local zone), `try again in 2 days 17 hours 14 minutes`. A clock time
 * without a date is its next occurrence, except within 10 minutes after it (then null: the
 * reset just happened, and waiting a day for the next one would be wrong).
 */
export function parseResetTime(text: string, now: Date, localTimeZone?: string): Date | null {
  const t = normalizeText(text);
  const local = localTimeZone ?? systemTimeZone();
  const pipe = EPOCH_PIPE.exec(t);
  if (pipe) return epochToDate(Number(pipe[1]), now);
  const iso = ISO.exec(t);
  if (iso) {
    const at = Date.parse(iso[1]!.replace(" ", "T"));
    return Number.isFinite(at) && at > now.getTime() ? new Date(at) : null;
  }
  const rel = RELATIVE.exec(t);
  if (rel) {
    const ms = durationMs(rel[1]!);
    return ms === null ? null : new Date(now.getTime() + ms);
  }
  for (const re of [RESETS, TRY_AGAIN_AT]) {
    const m = re.exec(t);
    if (!m?.groups) continue;
    const g = m.groups;
    // A bare number ("resets 5") is no time; a 24-hour clock needs its minutes.
    if (!g.ampm && g.minute === undefined) continue;
    return resolveClock({ month: g.month, day: g.day, year: g.year, hour: g.hour!, minute: g.minute, ampm: g.ampm, zone: g.zone?.trim() ?? local }, now);
  }
  return null;
}

export interface LimitWaitOptions {
  /** The shortest wait, also after a reset that is (nearly) now. */
  minWaitMs: number;
  /** Up to this much is added to a known reset, so two machines do not retry in the same second. */
  jitterMs: number;
  /** The first back-off when the reset time is unknown; doubles per attempt, capped at 1 h. */
  backoffMs: number;
  /** How many limit waits this turn already had (0 for the first). */
  attempt: number;
  /** A number in [0, 1); Math.random by default (tests pass a constant). */
  random?: () => number;
}

const BACKOFF_CAP_MS = 3_600_000;
const WAIT_CAP_MS = 7 * DAY_MS;

/** How long to sleep for a usage limit: the reset plus jitter, at least minWaitMs; unknown reset → exponential back-off. Never 0. */
export function limitWaitMs(resetAt: Date | null, now: Date, opts: LimitWaitOptions): number {
  const jitter = Math.max(0, opts.jitterMs) * (opts.random ?? Math.random)();
  const floor = Math.max(1000, opts.minWaitMs);
  if (resetAt) return Math.round(Math.min(WAIT_CAP_MS, Math.max(floor, resetAt.getTime() - now.getTime() + jitter)));
  const backoff = Math.min(BACKOFF_CAP_MS, Math.max(1, opts.backoffMs) * 2 ** Math.max(0, Math.min(30, opts.attempt)));
  return Math.round(Math.max(floor, backoff + jitter));
}
