/**
 * Text fallbacks for classifying a failed turn. Callers apply them only to lines that
 * can carry the CLI's own verdict (claude's synthetic/result text, codex's error and
 * turn.failed messages, the last lines of a plain-text agent), never to tool results,
 * user lines or echoed file contents (reference §1.1 signal 5).
 */
import { normalizeText, parseResetTime, windowFromText } from "./limits.ts";
import type { TurnEnd } from "./types.ts";

/**
 * Usage / plan / budget limits, as the CLIs word them (after normalizeText). Prefix-style
 * phrases rather than whole sentences: the wording churns ("session" and "individual
 * spend" were each inserted between "your" and "limit" in a release).
 * Not limits: "You've used 90% of your session limit" (a warning), "Now using extra usage",
 * "Server is temporarily limiting requests (not your usage limit)".
 */
const LIMIT_PATTERNS: RegExp[] = [
  /\bYou've hit your\b/i,
  /\bYou've reached your [\w .'-]*limit\b/i,
  /\bYou're out of (?:extra usage|usage credits)\b/i,
  /\bYou have reached your usage limit\b/i,
  /\b(?:Claude )?(?:AI )?usage limit reached\b/i,
  /\b\d+-hour limit reached\b/i,
  /\b(?:weekly|daily|monthly) limit reached\b/i,
  /\bYour usage allocation has been disabled\b/i,
  /\bYour org is out of usage\b/i,
  /\bYour seat type doesn't include usage\b/i,
  /\bYour group's usage limit\b/i,
  /\brequires usage credits\b/i,
  /\bworkspace is out of credits\b/i,
  /\bYou hit your spend cap\b/i,
  /\bQuota exceeded\b/i,
  /\busage_limit_(?:reached|exceeded)\b/i,
  /\bCredit balance is too low\b/i,
];

const NOT_A_LIMIT = /\bnot your usage limit\b|\bYou've used \d+%/i;

const AUTH_PATTERNS: RegExp[] = [
  /\b401\b/,
  /\bUnauthorized\b/i,
  /\b(?:Invalid|Incorrect) API key\b/i,
  /\binvalid_api_key\b/i,
  /\bNot logged in\b/i,
  /\bPlease run \/login\b/i,
  /\bauthentication_failed\b/i,
  /\bOAuth token (?:has )?(?:expired|revoked)\b/i,
  /\b(?:access|refresh) token (?:has )?(?:expired|was revoked|is invalid)\b/i,
  /\bInvalid bearer token\b/i,
  /\bnot authenticated\b/i,
  /\bPlease (?:log|sign) in\b/i,
];

const TRANSIENT_PATTERNS: RegExp[] = [
  /\b(?:429|500|502|503|504|529)\b/,
  /\bToo Many Requests\b/i,
  /\boverloaded\b/i,
  /\bInternal server error\b/i,
  /\bhigh demand\b/i,
  /\bserver-side issue\b/i,
  /\btemporar(?:y|ily)\b/i,
  /\brate[ _-]limit/i,
  /\bexceeded retry limit\b/i,
  /\bstream disconnected\b/i,
  /\bat capacity\b/i,
  /\bService Unavailable\b|\bBad Gateway\b|\bGateway Timeout\b/i,
  /\bConnection (?:error|refused|reset)\b|\bECONNRESET\b|\bETIMEDOUT\b|\bEAI_AGAIN\b|\bfetch failed\b|\bsocket hang up\b/i,
  /\b(?:request )?timed out\b/i,
];

/** "the session to resume does not exist" (claude, codex). */
const NO_SESSION = /\bNo conversation found with session ID\b|\bNo saved session found with ID\b|\bno rollout found\b/i;

export type Vendor = "claude" | "codex" | "command";

export const LOGIN_ADVICE: Record<Vendor, string> = {
  claude: "run `claude /login` (subscription) or set ANTHROPIC_API_KEY, then run orch again",
  codex: "run `codex login` (or set OPENAI_API_KEY), then run orch again",
  command: "log the agent in again, then run orch again",
};

export function isLimitText(text: string): boolean {
  const t = normalizeText(text);
  return !NOT_A_LIMIT.test(t) && LIMIT_PATTERNS.some((re) => re.test(t));
}

export function isNoSessionText(text: string): boolean {
  return NO_SESSION.test(text);
}

export interface ClassifyOptions {
  vendor: Vendor;
  localTimeZone?: string;
  /** Which verdicts this text may produce (the command adapter only trusts limit texts). */
  only?: ReadonlyArray<"limit" | "auth" | "transient" | "noSession">;
}

/** The verdict one error text carries, or null when it is not recognised. Limit beats auth beats transient. */
export function classifyText(raw: string, now: Date, opts: ClassifyOptions): Exclude<TurnEnd, { kind: "ok" }> | null {
  const text = normalizeText(raw);
  if (!text) return null;
  const allowed = (k: "limit" | "auth" | "transient" | "noSession") => !opts.only || opts.only.includes(k);
  const message = oneLineTrim(raw);
  if (allowed("noSession") && NO_SESSION.test(text)) return { kind: "fail", message, noSession: true };
  if (allowed("limit") && isLimitText(text)) {
    const window = windowFromText(text);
    return { kind: "limit", resetAt: parseResetTime(text, now, opts.localTimeZone), message, ...(window ? { window } : {}) };
  }
  if (allowed("auth") && AUTH_PATTERNS.some((re) => re.test(text))) return { kind: "auth", message, advice: LOGIN_ADVICE[opts.vendor] };
  if (allowed("transient") && TRANSIENT_PATTERNS.some((re) => re.test(text))) return { kind: "transient", message };
  return null;
}

/** One line, at most 500 characters: messages end up in commit trailers and status lines. */
export function oneLineTrim(text: string, max = 500): string {
  const one = text.replace(/[\u2018\u2019]/g, "'").replace(/\s+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
}
