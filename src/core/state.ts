import { openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { stateError } from "./errors.ts";

export type Actor = "galph" | "ralph";
export const ACTORS: readonly Actor[] = ["galph", "ralph"];
export const STATUSES = ["idle", "running-galph", "waiting-ralph", "running-ralph", "complete", "failed"] as const;
export type Status = (typeof STATUSES)[number];

/** SPEC §2: seven keys in this order, then any others the file carried. */
export interface State {
  iteration: number;
  expected_actor: Actor;
  status: Status;
  last_update: string;
  lease_expires_at: string;
  galph_commit: string | null;
  ralph_commit: string | null;
  /** Unknown keys (e.g. exit, exit_reason), preserved in their order. */
  extra: Record<string, unknown>;
}

const KEY_ORDER = ["iteration", "expected_actor", "status", "last_update", "lease_expires_at", "galph_commit", "ralph_commit"] as const;
const LEASE_MS = 10 * 60 * 1000;

export function isoUtc(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function initialState(now: Date = new Date()): State {
  return {
    iteration: 1,
    expected_actor: "galph",
    status: "idle",
    last_update: isoUtc(now),
    lease_expires_at: isoUtc(new Date(now.getTime() + LEASE_MS)),
    galph_commit: null,
    ralph_commit: null,
    extra: {},
  };
}

/**
 * Parse and validate; any problem is exit 3 naming the file and the field.
 * Never resets. `restore` says how to bring a good copy back (default: the
 * committed version of a working-tree file).
 */
export function parseState(text: string, file: string, restore = `git checkout -- ${file}`): State {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw stateError(`${file}: not valid JSON (${(e as Error).message}); fix or restore it (${restore})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw stateError(`${file}: expected a JSON object; fix or restore it (${restore})`);
  }
  const obj = data as Record<string, unknown>;
  const bad = (field: string, want: string) =>
    stateError(`${file}: field '${field}' must be ${want}, got ${JSON.stringify(obj[field]) ?? "nothing"}; fix the file or restore it (${restore})`);
  const iteration = obj.iteration ?? 1;
  if (typeof iteration !== "number" || !Number.isInteger(iteration) || iteration < 0) throw bad("iteration", "a non-negative integer");
  const actor = obj.expected_actor ?? "galph";
  if (actor !== "galph" && actor !== "ralph") throw bad("expected_actor", `"galph" or "ralph"`);
  const status = obj.status ?? "idle";
  if (typeof status !== "string" || !(STATUSES as readonly string[]).includes(status)) throw bad("status", `one of ${STATUSES.join(", ")}`);
  for (const key of ["last_update", "lease_expires_at"] as const) {
    if (obj[key] !== undefined && typeof obj[key] !== "string") throw bad(key, "a string");
  }
  for (const key of ["galph_commit", "ralph_commit"] as const) {
    if (obj[key] !== undefined && obj[key] !== null && typeof obj[key] !== "string") throw bad(key, "a string or null");
  }
  if (obj.exit !== undefined && typeof obj.exit !== "boolean") throw bad("exit", "true or false");
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!(KEY_ORDER as readonly string[]).includes(k)) extra[k] = v;
  const now = new Date();
  return {
    iteration,
    expected_actor: actor,
    status: status as Status,
    last_update: (obj.last_update as string | undefined) ?? isoUtc(now),
    lease_expires_at: (obj.lease_expires_at as string | undefined) ?? isoUtc(new Date(now.getTime() + LEASE_MS)),
    galph_commit: (obj.galph_commit as string | null | undefined) ?? null,
    ralph_commit: (obj.ralph_commit as string | null | undefined) ?? null,
    extra,
  };
}

/** Byte-compatible with Python's json.dump(indent=2) + "\n" (ensure_ascii escapes). */
export function serializeState(state: State): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) ordered[key] = state[key];
  for (const [k, v] of Object.entries(state.extra)) ordered[k] = v;
  return pythonJson(ordered, "") + "\n";
}

function pythonJson(value: unknown, indent: string): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return asciiString(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pythonFloat(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return "[\n" + value.map((v) => inner + pythonJson(v, inner)).join(",\n") + "\n" + indent + "]";
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  return "{\n" + entries.map(([k, v]) => `${inner}${asciiString(k)}: ${pythonJson(v, inner)}`).join(",\n") + "\n" + indent + "}";
}

/** Python's float repr: the same shortest digits as JS, but scientific below 1e-4 or from 1e16, with a 2-digit exponent. */
function pythonFloat(n: number): string {
  const [mantissa, exp] = n.toExponential().split("e") as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  const s = String(n);
  return s.includes(".") ? s : s + ".0";
}

function asciiString(s: string): string {
  // ensure_ascii escapes everything outside printable ASCII, DEL (U+007F) included.
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

export function readStateFile(path: string, displayName = path): State | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw stateError(`${displayName}: cannot read (${(e as Error).message})`);
  }
  return parseState(text, displayName);
}

/** Atomic: temp file in the same directory, fsync, rename. */
export function writeStateFile(path: string, state: State): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, serializeState(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
  try {
    const dfd = openSync(dir, "r");
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Directory fsync is best effort (not supported everywhere).
  }
}

// ---- transitions (SPEC §3), pure --------------------------------------------

export type Outcome = "ok" | "fail";

function touched(state: State, now: Date): State {
  return { ...state, extra: { ...state.extra }, last_update: isoUtc(now), lease_expires_at: isoUtc(new Date(now.getTime() + LEASE_MS)) };
}

export function markRunning(state: State, actor: Actor, now: Date = new Date()): State {
  return { ...touched(state, now), expected_actor: actor, status: actor === "galph" ? "running-galph" : "running-ralph" };
}

export function stampOutcome(state: State, actor: Actor, outcome: Outcome, sha: string, now: Date = new Date()): State {
  const next = touched(state, now);
  if (actor === "galph") {
    next.galph_commit = sha;
    if (outcome === "ok") return { ...next, expected_actor: "ralph", status: "waiting-ralph" };
    return { ...next, expected_actor: "galph", status: "failed" };
  }
  next.ralph_commit = sha;
  if (outcome === "ok") return { ...next, expected_actor: "galph", status: "complete", iteration: state.iteration + 1 };
  return { ...next, expected_actor: "ralph", status: "failed" };
}

/** Subjects of SPEC §3; `iteration` is the state's iteration after the transition. */
export const subjects = {
  init: () => "[SYNC init] actor=galph status=idle",
  running: (actor: Actor, iteration: number) => `[SYNC i=${iteration}] actor=${actor} status=running`,
  stamp(actor: Actor, outcome: Outcome, iteration: number, sha: string): string {
    const peer = actor === "galph" ? "ralph" : "galph";
    return outcome === "ok"
      ? `[SYNC i=${iteration}] actor=${actor} \u2192 next=${peer} status=ok ${actor}_commit=${sha}`
      : `[SYNC i=${iteration}] actor=${actor} status=fail ${actor}_commit=${sha}`;
  },
};

/** Parse a stamp subject back (tail, status, soak); null for other commits. */
export interface ParsedSubject {
  kind: "init" | "running" | "ok" | "fail";
  actor: Actor;
  iteration: number | null;
  sha?: string;
}
const SUBJECT_RE = /^\[SYNC (?:i=(\d+)|init)\] actor=(galph|ralph)(?: \u2192 next=(?:galph|ralph))? status=(running|ok|fail|idle)(?: (?:galph|ralph)_commit=(\S+))?/;
export function parseSubject(subject: string): ParsedSubject | null {
  const m = SUBJECT_RE.exec(subject);
  if (!m) return null;
  const kind = m[3] === "idle" ? "init" : (m[3] as ParsedSubject["kind"]);
  return { kind, actor: m[2] as Actor, iteration: m[1] ? Number(m[1]) : null, sha: m[4] };
}

/** How to mend a state file that is broken on the remote branch itself (a working-tree checkout cannot). */
export function remoteStateRestore(remote: string, branch: string, stateRel: string): string {
  return `find a good version with git log ${remote}/${branch} -- ${stateRel}, then git checkout <commit> -- ${stateRel}, commit and push it`;
}
