/**
 * control.json (SPEC §15): what a person asked of the pair, kept on
 * `refs/orch/control/<branch>` as a commit chain (control-push.ts writes it).
 * This module is the document alone, pure: parse it strictly, apply one change
 * to it, answer the runners' questions (paused? stopped? which nudges?).
 *
 * Delivery of a nudge: the runner moves it from `nudges` to `delivered` in one
 * compare-and-swap before the turn that gets it (a `deliver` change), naming
 * the iteration. Two runners can never both claim it (the second one's CAS
 * re-applies on the new document, where the nudge is no longer pending), and a
 * turn rerun after a crash finds its own claim again (`nudgesForTurn`).
 */
import { ACTORS, type Actor } from "../core/state.ts";
import { OrchError, Exit } from "../core/errors.ts";

export interface Nudge {
  /** `n-` and 6 hex digits; safe in a comma-separated `Orch-Nudges` trailer. */
  id: string;
  actor: Actor;
  text: string;
  /** When it was queued (UTC, YYYY-MM-DDTHH:MM:SSZ) and on which host. */
  at: string;
  by: string;
}

/** A nudge a runner took for one of its turns. */
export interface DeliveredNudge extends Nudge {
  delivered_at: string;
  /** The runner's host. */
  delivered_by: string;
  /** The turn it was given to (the state's iteration), null when the runner did not say. */
  iteration: number | null;
}

export interface Stop {
  reason: string;
  at: string;
  by: string;
  /** The document's seq when the stop was set: a runner started at or after it ignores it. */
  seq: number;
}

export interface Control {
  schema: 1;
  /** Bumped by every change (0: no control document yet). */
  seq: number;
  paused: Record<Actor, boolean>;
  stop: Stop | null;
  /** Queued, not yet delivered, oldest first. */
  nudges: Nudge[];
  /** The last DELIVERED_KEPT delivered nudges, oldest first. */
  delivered: DeliveredNudge[];
  /** Top-level keys this version does not know (a newer orch's), written back as they were. */
  extra: Record<string, unknown>;
}

export type ControlChange =
  | { kind: "pause"; actors: readonly Actor[] }
  /** `clearStop`: also forget a stop (orch resume without an actor). */
  | { kind: "resume"; actors: readonly Actor[]; clearStop: boolean }
  | { kind: "stop"; reason: string; at: string; by: string }
  | { kind: "nudge"; nudge: Nudge }
  | { kind: "deliver"; actor: Actor; ids: readonly string[]; iteration: number | null; at: string; by: string };

export interface Applied {
  doc: Control;
  /** False when the document already said so: nothing to publish. */
  changed: boolean;
  /** What changed, for a person ("paused ralph", "queued nudge n-3f2a for ralph"). */
  summary: string;
  /** For `deliver`: the nudges this change moved (the runner's to give to the agent). */
  delivered: DeliveredNudge[];
}

/** Largest nudge text (UTF-8 bytes): a nudge is a note, not a second prompt. */
export const NUDGE_MAX_BYTES = 16 * 1024;
/** Most undelivered nudges a document holds. */
export const NUDGES_MAX_PENDING = 32;
/** Largest stop reason (characters). */
export const STOP_REASON_MAX = 500;
/** Delivered nudges kept (so a rerun of a turn finds its claim, and status can show recent deliveries). */
const DELIVERED_KEPT = 16;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function emptyControl(): Control {
  return { schema: 1, seq: 0, paused: { galph: false, ralph: false }, stop: null, nudges: [], delivered: [], extra: {} };
}

/** The document is not what it must be: never reset silently, a person decides. */
export class ControlInvalid extends OrchError {
  constructor(readonly where: string, readonly problem: string) {
    super(Exit.badState, `control.json on ${where} is invalid: ${problem}; repair it by hand, or delete the ref (its pauses and nudges are then lost): git push <remote> --delete <ref>`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parse control.json strictly (known fields must have their shape; unknown
 * keys are kept). `where` names it in errors ("origin refs/orch/control/x").
 * Null text (no control ref yet) is the empty document.
 */
export function readControl(text: string | null, where: string): Control {
  if (text === null) return emptyControl();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ControlInvalid(where, `not JSON (${(e as Error).message})`);
  }
  const bad = (problem: string): never => {
    throw new ControlInvalid(where, problem);
  };
  if (!isObj(raw)) return bad("not a JSON object");
  if (raw.schema !== 1) return bad(typeof raw.schema === "number" && raw.schema > 1 ? `schema ${raw.schema} is newer than this orch understands; upgrade orch` : `"schema" must be 1`);
  const seq = raw.seq;
  if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0) return bad(`"seq" must be a whole number ≥ 0`);
  if (!isObj(raw.paused)) return bad(`"paused" must be an object {"galph": bool, "ralph": bool}`);
  const paused = { galph: false, ralph: false };
  for (const a of ACTORS) {
    const v = raw.paused[a] ?? false;
    if (typeof v !== "boolean") return bad(`"paused.${a}" must be true or false`);
    paused[a] = v;
  }
  let stop: Stop | null = null;
  if (raw.stop !== null && raw.stop !== undefined) {
    if (!isObj(raw.stop)) return bad(`"stop" must be null or {"reason", "at", "by"}`);
    const s = raw.stop;
    for (const k of ["reason", "at", "by"]) if (typeof s[k] !== "string") bad(`"stop.${k}" must be a string`);
    const stopSeq = s.seq === undefined ? seq : s.seq; // hand-written without seq: as new as the document
    if (typeof stopSeq !== "number" || !Number.isInteger(stopSeq) || stopSeq < 0) return bad(`"stop.seq" must be a whole number ≥ 0`);
    stop = { ...s, reason: s.reason as string, at: s.at as string, by: s.by as string, seq: stopSeq };
  }
  const list = (key: string): Obj[] => {
    const v = raw[key] ?? [];
    if (!Array.isArray(v) || !v.every(isObj)) return bad(`"${key}" must be a list of objects`);
    return v as Obj[];
  };
  const nudge = (n: Obj, at: string): Nudge => {
    if (typeof n.id !== "string" || !ID_RE.test(n.id)) bad(`${at}.id must be letters, digits, - or _ (got ${JSON.stringify(n.id)})`);
    if (n.actor !== "galph" && n.actor !== "ralph") bad(`${at}.actor must be galph or ralph (got ${JSON.stringify(n.actor)})`);
    for (const k of ["text", "at", "by"]) if (typeof n[k] !== "string") bad(`${at}.${k} must be a string`);
    return n as unknown as Nudge;
  };
  const nudges = list("nudges").map((n, i) => nudge(n, `nudges[${i}]`));
  const delivered = list("delivered").map((n, i) => {
    const d = nudge(n, `delivered[${i}]`) as DeliveredNudge;
    if (typeof d.delivered_at !== "string" || typeof d.delivered_by !== "string") bad(`delivered[${i}] needs delivered_at and delivered_by strings`);
    if (d.iteration !== null && !Number.isInteger(d.iteration)) bad(`delivered[${i}].iteration must be a whole number or null`);
    return d;
  });
  const ids = new Set<string>();
  for (const n of [...nudges, ...delivered]) {
    if (ids.has(n.id)) bad(`nudge id ${n.id} appears twice`);
    ids.add(n.id);
  }
  const extra: Obj = {};
  for (const [k, v] of Object.entries(raw)) if (!KNOWN.has(k)) extra[k] = v;
  return { schema: 1, seq, paused, stop, nudges, delivered, extra };
}

const KNOWN = new Set(["schema", "seq", "paused", "stop", "nudges", "delivered"]);

export function serializeControl(doc: Control): string {
  const { schema, seq, paused, stop, nudges, delivered, extra } = doc;
  return JSON.stringify({ schema, seq, paused, stop, nudges, delivered, ...extra }, null, 2) + "\n";
}

const names = (actors: readonly Actor[]) => (actors.length === 2 ? "galph and ralph" : actors.join(" and "));

/**
 * Apply one change. Pure; bumps `seq` when something changed. Applying the
 * same change again (a retry after an unknown push outcome) changes nothing.
 */
export function applyChange(doc: Control, change: ControlChange): Applied {
  const next: Control = { ...doc, paused: { ...doc.paused }, nudges: [...doc.nudges], delivered: [...doc.delivered], extra: { ...doc.extra } };
  const done = (changed: boolean, summary: string, delivered: DeliveredNudge[] = []): Applied => {
    if (changed) next.seq = doc.seq + 1;
    return { doc: changed ? next : doc, changed, summary, delivered };
  };
  switch (change.kind) {
    case "pause":
    case "resume": {
      const want = change.kind === "pause";
      const state = want ? "already paused" : "not paused";
      const moved = change.actors.filter((a) => doc.paused[a] !== want);
      const already = change.actors.filter((a) => doc.paused[a] === want);
      for (const a of moved) next.paused[a] = want;
      const did: string[] = moved.length ? [`${want ? "paused" : "resumed"} ${names(moved)}`] : [];
      if (change.kind === "resume" && change.clearStop && doc.stop) {
        did.push(`cleared the stop ("${doc.stop.reason}")`);
        next.stop = null;
      }
      const note = already.length ? `${names(already)} ${already.length > 1 ? "were" : "was"} ${state}` : "";
      if (did.length === 0) return done(false, note);
      return done(true, did.join(" and ") + (note ? `; ${note}` : ""));
    }
    case "stop": {
      if (doc.stop && doc.stop.reason === change.reason && doc.stop.at === change.at && doc.stop.by === change.by) return done(false, `stop already requested: "${change.reason}"`);
      next.stop = { reason: change.reason, at: change.at, by: change.by, seq: doc.seq + 1 };
      return done(true, `stop requested: "${change.reason}"`);
    }
    case "nudge": {
      const n = change.nudge;
      const same = [...doc.nudges, ...doc.delivered].find((m) => m.id === n.id);
      if (same && same.actor === n.actor && same.text === n.text) return done(false, `nudge ${n.id} for ${n.actor} is already queued`);
      if (same) throw new OrchError(Exit.runtime, `nudge id ${n.id} is already taken; rerun orch nudge`);
      if (doc.nudges.length >= NUDGES_MAX_PENDING) {
        throw new OrchError(Exit.usage, `${doc.nudges.length} nudges are already waiting to be delivered (at most ${NUDGES_MAX_PENDING}); wait for the runners to take them`);
      }
      next.nudges.push(n);
      return done(true, `queued nudge ${n.id} for ${n.actor}`);
    }
    case "deliver": {
      const wanted = new Set(change.ids);
      const taken = doc.nudges.filter((n) => n.actor === change.actor && wanted.has(n.id));
      if (taken.length === 0) return done(false, `no pending nudge to deliver to ${change.actor}`);
      next.nudges = doc.nudges.filter((n) => !taken.includes(n));
      const delivered = taken.map((n) => ({ ...n, delivered_at: change.at, delivered_by: change.by, iteration: change.iteration }));
      next.delivered = [...doc.delivered, ...delivered].slice(-DELIVERED_KEPT);
      return done(true, `delivered ${delivered.map((n) => n.id).join(", ")} to ${change.actor}`, delivered);
    }
  }
}

/** The nudges waiting for `actor`, oldest first. */
export function pendingNudges(doc: Control, actor: Actor): Nudge[] {
  return doc.nudges.filter((n) => n.actor === actor);
}

/**
 * The nudges already claimed for this turn (a rerun of the same iteration after
 * a crash or a usage-limit wait gets them again, so each stamped turn that
 * claimed a nudge saw it).
 */
export function nudgesForTurn(doc: Control, actor: Actor, iteration: number): DeliveredNudge[] {
  return doc.delivered.filter((n) => n.actor === actor && n.iteration === iteration);
}

/**
 * Whether a runner must stop: a stop set after it started (`startSeq` is the
 * seq of the first control document it read, 0 when there was none). A stop a
 * runner saw at its start is an old one (the person started it again since)
 * and is ignored; seqs, not clocks, decide, so clock skew between the laptop
 * and the runner's machine cannot stop a fresh run.
 */
export function stopApplies(doc: Control, startSeq: number): boolean {
  return doc.stop !== null && doc.stop.seq > startSeq;
}

/** A fresh nudge id: `n-` and 6 hex digits. */
export function newNudgeId(): string {
  return `n-${crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")}`;
}
