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

/** `Key: value` lines → last value per lower-cased key (git appends; the last one is the newest). */
export function trailerMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    map.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return map;
}

/** `a=1 b=x` → {a:"1", b:"x"}. */
export function keyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(/\s+/)) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 1));
  }
  return out;
}

const wholeNumber = (v: string | undefined): number | null => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : null);
/** `754s` or `754` → 754 (never negative). */
const seconds = (v: string | undefined): number | null => {
  const n = v === undefined ? null : wholeNumber(v.replace(/s$/, ""));
  return n !== null && n >= 0 ? n : null;
};

export function parseReceipt(trailers: string): Receipt {
  const t = trailerMap(trailers);
  const get = (k: string) => t.get(k.toLowerCase());
  const agentText = get("Orch-Agent");
  const agentKv = agentText !== undefined ? keyValues(agentText) : null;
  const tokensText = get("Orch-Tokens");
  const diffText = get("Orch-Diffstat");
  const runnerText = get("Orch-Runner");
  const started = get("Orch-Started");
  const cost = get("Orch-Cost-USD");
  return {
    durationSec: seconds(get("Orch-Duration")),
    exit: wholeNumber(get("Orch-Exit")),
    agent: agentKv ? { kind: agentKv.get("kind") ?? null, version: agentKv.get("version") ?? null, model: agentKv.get("model") ?? null } : null,
    session: get("Orch-Session") || null,
    costUsd: cost !== undefined && /^\d+(\.\d+)?$/.test(cost) ? Number(cost) : null,
    tokens: tokensText !== undefined ? parseTokens(tokensText) : null,
    attempts: wholeNumber(get("Orch-Attempts")),
    limitWaitSec: seconds(get("Orch-Limit-Wait")),
    diffstat: diffText !== undefined ? parseDiffstat(diffText) : null,
    host: get("Orch-Host") || null,
    started: started ? parseUtc(started) : null,
    log: get("Orch-Log") || null,
    prompt: get("Orch-Prompt") || null,
    reason: get("Orch-Reason") || null,
    nudges: (get("Orch-Nudges") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    runner: runnerText !== undefined ? runnerOf(keyValues(runnerText)) : null,
    takeover: get("Orch-Takeover")?.replace(/^by\s+/, "") || null,
    any: [...t.keys()].some((k) => k.startsWith("orch-")),
  };
}

function parseTokens(text: string): Tokens | null {
  const kv = keyValues(text);
  const n = (k: string) => wholeNumber(kv.get(k)) ?? 0;
  if (!["input", "output", "cache_read", "cache_write"].some((k) => kv.has(k))) return null;
  return { input: n("input"), output: n("output"), cache_read: n("cache_read"), cache_write: n("cache_write") };
}

/** All nine counts, or null when any is missing (a partial diffstat would mislead the code/docs split). */
function parseDiffstat(text: string): Record<DiffKey, number> | null {
  const kv = keyValues(text);
  const out = {} as Record<DiffKey, number>;
  for (const k of DIFF_KEYS) {
    const v = wholeNumber(kv.get(k));
    if (v === null) return null;
    out[k] = v;
  }
  return out;
}

function runnerOf(kv: Map<string, string>) {
  return { host: kv.get("host") ?? null, clone: kv.get("clone") ?? null, pid: wholeNumber(kv.get("pid")) };
}

/** Epoch seconds of a UTC ISO time (`2026-12-01T06:10:00Z`); null when unparseable. */
export function parseUtc(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}
