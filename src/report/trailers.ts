/**
 * Receipt trailers of a stamp commit (the team's format; SPEC §14), parsed from
 * `%(trailers:only,unfold)`. Pure; a malformed value reads as absent, never as
 * an error: a report must still come out of a history someone edited by hand.
 */
import type { Tokens } from "./types.ts";

export interface Receipt {
  durationSec: number | null;
  exit: number | null;
  agent: { kind: string | null; version: string | null; model: string | null } | null;
  session: string | null;
  costUsd: number | null;
  tokens: Tokens | null;
  attempts: number | null;
  limitWaitSec: number | null;
  diffstat: Record<DiffKey, number> | null;
  host: string | null;
  started: number | null;
  log: string | null;
  prompt: string | null;
  reason: string | null;
  nudges: string[];
  runner: { host: string | null; clone: string | null; pid: number | null } | null;
  takeover: string | null;
  /** Any Orch-* trailer at all (false: the old tool, or a stamp made without receipts). */
  any: boolean;
}

export const DIFF_KEYS = ["files", "add", "del", "code_files", "code_add", "code_del", "doc_files", "doc_add", "doc_del"] as const;
export type DiffKey = (typeof DIFF_KEYS)[number];

/**
 * `Key: value` lines → last value per key (git appends; the last one is the newest).
 * One pass with indexOf: this runs for every stamp of months of history.
 */
export function trailerFields(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const n = text.length;
  let pos = 0;
  while (pos < n) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = n;
    const colon = text.indexOf(":", pos);
    if (colon > pos && colon < end) {
      let key = text.slice(pos, colon).trim();
      // Receipts are written as Orch-Xxx; accept another case the way git matches trailer keys.
      if (!key.startsWith("Orch-") && /^orch-/i.test(key)) key = canonical(key);
      out[key] = text.slice(colon + 1, end).trim();
    }
    pos = end + 1;
  }
  return out;
}

const KNOWN_KEYS = ["Orch-Duration", "Orch-Exit", "Orch-Agent", "Orch-Session", "Orch-Cost-USD", "Orch-Tokens", "Orch-Attempts", "Orch-Limit-Wait", "Orch-Diffstat", "Orch-Host", "Orch-Started", "Orch-Log", "Orch-Prompt", "Orch-Reason", "Orch-Nudges", "Orch-Runner", "Orch-Takeover"];
const CANONICAL = new Map(KNOWN_KEYS.map((k) => [k.toLowerCase(), k]));
const canonical = (key: string) => CANONICAL.get(key.toLowerCase()) ?? key;

/** `a=1 b=x` → {a:"1", b:"x"}. */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const part of text.split(" ")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

const wholeNumber = (v: string | undefined): number | null => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : null);
/** `754s` or `754` → 754 (never negative). */
const seconds = (v: string | undefined): number | null => {
  const n = v === undefined ? null : wholeNumber(v.endsWith("s") ? v.slice(0, -1) : v);
  return n !== null && n >= 0 ? n : null;
};

/** True when the trailers name an Orch-Diffstat (a cheap look, no parse: it runs over every stamp of the history read). */
export function hasDiffstat(trailers: string): boolean {
  return trailers.includes("Orch-Diffstat:") || /^orch-diffstat:/im.test(trailers);
}

export function parseReceipt(trailers: string): Receipt {
  const t = trailerFields(trailers);
  const agentText = t["Orch-Agent"];
  const agentKv = agentText !== undefined ? keyValues(agentText) : null;
  const tokensText = t["Orch-Tokens"];
  const diffText = t["Orch-Diffstat"];
  const runnerText = t["Orch-Runner"];
  const started = t["Orch-Started"];
  const cost = t["Orch-Cost-USD"];
  const nudges = t["Orch-Nudges"];
  let any = false;
  for (const k in t) {
    if (k.startsWith("Orch-")) {
      any = true;
      break;
    }
  }
  return {
    durationSec: seconds(t["Orch-Duration"]),
    exit: wholeNumber(t["Orch-Exit"]),
    agent: agentKv ? { kind: agentKv.kind ?? null, version: agentKv.version ?? null, model: agentKv.model ?? null } : null,
    session: t["Orch-Session"] || null,
    costUsd: cost !== undefined && /^\d+(\.\d+)?$/.test(cost) ? Number(cost) : null,
    tokens: tokensText !== undefined ? parseTokens(tokensText) : null,
    attempts: wholeNumber(t["Orch-Attempts"]),
    limitWaitSec: seconds(t["Orch-Limit-Wait"]),
    diffstat: diffText !== undefined ? parseDiffstat(diffText) : null,
    host: t["Orch-Host"] || null,
    started: started ? parseUtc(started) : null,
    log: t["Orch-Log"] || null,
    prompt: t["Orch-Prompt"] || null,
    reason: t["Orch-Reason"] || null,
    nudges: nudges ? nudges.split(",").map((s) => s.trim()).filter(Boolean) : [],
    runner: runnerText !== undefined ? runnerOf(keyValues(runnerText)) : null,
    takeover: t["Orch-Takeover"]?.replace(/^by\s+/, "") || null,
    any,
  };
}

function parseTokens(text: string): Tokens | null {
  const kv = keyValues(text);
  const n = (k: string) => wholeNumber(kv[k]) ?? 0;
  if (!["input", "output", "cache_read", "cache_write"].some((k) => k in kv)) return null;
  return { input: n("input"), output: n("output"), cache_read: n("cache_read"), cache_write: n("cache_write") };
}

/** All nine counts, or null when any is missing (a partial diffstat would mislead the code/docs split). */
function parseDiffstat(text: string): Record<DiffKey, number> | null {
  const kv = keyValues(text);
  const out = {} as Record<DiffKey, number>;
  for (const k of DIFF_KEYS) {
    const v = wholeNumber(kv[k]);
    if (v === null) return null;
    out[k] = v;
  }
  return out;
}

function runnerOf(kv: Record<string, string>) {
  return { host: kv.host ?? null, clone: kv.clone ?? null, pid: wholeNumber(kv.pid) };
}

/** Epoch seconds of a UTC ISO time (`2026-12-01T06:10:00Z`); null when unparseable. */
export function parseUtc(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}
