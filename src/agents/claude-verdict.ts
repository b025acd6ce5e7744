/**
 * How a claude turn ended, from what the parser saw (claude.ts). Order of trust
 * (reference §1.1): the result's is_error; a rejected rate_limit_event; the synthetic
 * message / result text in the CLI's own wording; the HTTP status and error field; the
 * last api_retry when no result came; plain lines last. Never the model's words, never
 * tool results, never `subtype`, never the exit code alone.
 */
import { classifyText, isLimitText, isNoSessionText, LOGIN_ADVICE, oneLineTrim } from "./classify.ts";
import { epochToDate, parseResetTime, windowFromText, windowFromType } from "./limits.ts";
import type { TurnEnd } from "./types.ts";

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export interface ClaudeSeen {
  /** At least one stdout line was a JSON event (stream-json); otherwise text mode. */
  json: boolean;
  /** The last `result` event. */
  result: Obj | null;
  /** rate_limit_info of a `rate_limit_event` with status "rejected". */
  rejected: Obj | null;
  /** The main session's `<synthetic>` assistant message: the CLI speaking, not the model. */
  synthetic: { text: string; error: string | null } | null;
  /** The last `system/api_retry` event. */
  lastRetry: Obj | null;
  /** The last plain lines: non-JSON stdout and all stderr. */
  plainTail: string[];
  /** The last non-JSON stdout lines (text mode's answer). */
  stdoutTail: string[];
}

export function claudeVerdict(seen: ClaudeSeen, exit: { code: number; timedOut: boolean }, now: Date, localTimeZone?: string): TurnEnd {
  const retry = seen.lastRetry;
  if (exit.timedOut) return { kind: "transient", message: `claude timed out${retry ? ` (last api_retry: ${retry.error_status ?? "-"} ${retry.error ?? ""})` : ""}` };
  if (seen.result) {
    // A result with is_error false is success even with a non-zero exit (a crashing hook
    // after the turn finished): the work is done and committed; stamping fail would stall the pair.
    if (seen.result.is_error !== true) return { kind: "ok" };
    return resultError(seen, now, localTimeZone);
  }
  if (seen.json) {
    if (seen.rejected || (seen.synthetic && isLimitText(seen.synthetic.text))) return limit(seen, now, localTimeZone);
    const fromText = plainVerdict(seen.plainTail.slice(-5), now, localTimeZone);
    if (fromText) return fromText;
    if (retry) {
      const message = `claude exited ${exit.code} without a result after api_retry ${retry.error_status ?? "-"} ${retry.error ?? ""}`.trim();
      return retry.error === "authentication_failed" ? { kind: "auth", message, advice: LOGIN_ADVICE.claude } : { kind: "transient", message };
    }
    return { kind: "fail", message: `claude exited ${exit.code} without a result line` };
  }
  // Text mode: the exit code decides, the last lines say why. On exit 0 only a lone line in
  // the CLI's own error wording counts (#79500: exit 0 on an API error).
  if (exit.code === 0) {
    const lone = seen.stdoutTail.length === 1 ? seen.stdoutTail[0]! : "";
    if (lone && (isLimitText(lone) || /^(?:API Error\b|Invalid API key\b|Not logged in\b)/.test(lone))) return classifyText(lone, now, { vendor: "claude", localTimeZone }) ?? { kind: "ok" };
    return { kind: "ok" };
  }
  return plainVerdict(seen.plainTail.slice(-3), now, localTimeZone) ?? { kind: "fail", message: oneLineTrim(seen.plainTail.at(-1) ?? `claude exited ${exit.code}`) };
}

function plainVerdict(lines: string[], now: Date, localTimeZone?: string): TurnEnd | null {
  for (const line of [...lines].reverse()) {
    const v = classifyText(line, now, { vendor: "claude", localTimeZone });
    if (v) return v;
  }
  return null;
}

function limit(seen: ClaudeSeen, now: Date, localTimeZone?: string): TurnEnd {
  const text = str(seen.result?.result) || seen.synthetic?.text || "usage limit reached (rate_limit_event rejected)";
  const window = windowFromType(seen.rejected?.rateLimitType) ?? windowFromText(text);
  // The event's epoch is exact; when it is there but already past, the limit has just reset
  // (null: back off and probe), and the text's minute-rounded clock time must not say "tomorrow".
  const epoch = seen.rejected?.resetsAt;
  const resetAt = epoch !== undefined && epoch !== null ? epochToDate(epoch, now) : parseResetTime(text, now, localTimeZone);
  return { kind: "limit", resetAt, message: oneLineTrim(text), ...(window ? { window } : {}) };
}

/** is_error:true: structured limit signals, then the CLI's text, then the HTTP status. */
function resultError(seen: ClaudeSeen, now: Date, localTimeZone?: string): TurnEnd {
  const r = seen.result!;
  if (seen.rejected) return limit(seen, now, localTimeZone);
  const errors = Array.isArray(r.errors) ? r.errors.map((e) => (typeof e === "string" ? e : JSON.stringify(e))) : [];
  const texts = [str(r.result), seen.synthetic?.text, ...errors, ...seen.plainTail.slice(-3)].filter((t): t is string => !!t && t.trim() !== "");
  const gone = texts.find(isNoSessionText);
  if (gone) return { kind: "fail", message: oneLineTrim(gone), noSession: true };
  if (texts.some(isLimitText)) return limit(seen, now, localTimeZone);
  for (const t of texts) {
    const v = classifyText(t, now, { vendor: "claude", localTimeZone, only: ["auth", "transient"] });
    if (v) return v;
  }
  const message = oneLineTrim(texts[0] ?? `claude reported an error (${r.subtype ?? "no subtype"})`);
  const status = num(r.api_error_status) ?? num(r.apiErrorStatus);
  const error = seen.synthetic?.error ?? null;
  if (status === 401 || status === 403 || error === "authentication_failed" || error === "oauth_org_not_allowed") return { kind: "auth", message, advice: LOGIN_ADVICE.claude };
  if ((status !== null && (status === 429 || status >= 500)) || error === "overloaded" || error === "server_error" || error === "rate_limit") return { kind: "transient", message };
  return { kind: "fail", message };
}
