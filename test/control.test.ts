/**
 * control.json (SPEC §15) as a pure document: strict parsing that keeps
 * unknown keys, every change kind, nudge delivery and stop semantics.
 */
import { describe, expect, test } from "bun:test";
import {
  applyChange,
  emptyControl,
  newNudgeId,
  nudgesForTurn,
  pendingNudges,
  readControl,
  serializeControl,
  stopApplies,
  ControlInvalid,
  NUDGES_MAX_PENDING,
  type Control,
  type Nudge,
} from "../src/channel/control.ts";
import { OrchError } from "../src/core/errors.ts";

const WHERE = "origin refs/orch/control/feature/x";
const AT = "2026-12-01T06:10:00Z";
const nudge = (id: string, actor: "galph" | "ralph" = "ralph", text = `text of ${id}`): Nudge => ({ id, actor, text, at: AT, by: "laptop" });
const roundTrip = (doc: Control) => readControl(serializeControl(doc), WHERE);

describe("readControl", () => {
  test("no control ref yet is the empty document", () => {
    expect(readControl(null, WHERE)).toEqual(emptyControl());
    expect(emptyControl()).toMatchObject({ schema: 1, seq: 0, paused: { galph: false, ralph: false }, stop: null, nudges: [] });
  });

  test("a document round-trips, and unknown keys (top level and in nudges) survive a change", () => {
    const text = JSON.stringify({
      schema: 1,
      seq: 7,
      paused: { galph: true, ralph: false },
      stop: null,
      nudges: [{ ...nudge("n-aaaaaa"), priority: "high" }],
      future_field: { x: 1 },
    });
    const doc = readControl(text, WHERE);
    expect(doc.seq).toBe(7);
    expect(doc.paused).toEqual({ galph: true, ralph: false });
    expect(doc.extra).toEqual({ future_field: { x: 1 } });
    const after = applyChange(doc, { kind: "pause", actors: ["ralph"] }).doc;
    const written = JSON.parse(serializeControl(after));
    expect(written.future_field).toEqual({ x: 1 });
    expect(written.nudges[0].priority).toBe("high");
    expect(written.seq).toBe(8);
    expect(Object.keys(written).slice(0, 6)).toEqual(["schema", "seq", "paused", "stop", "nudges", "delivered"]);
  });

  const broken: [string, string, RegExp][] = [
    ["not JSON", "{ nope", /not JSON/],
    ["an array", "[]", /not a JSON object/],
    ["schema 2", '{"schema":2,"seq":1,"paused":{}}', /schema 2 is newer than this orch understands; upgrade orch/],
    ["no schema", '{"seq":1,"paused":{}}', /"schema" must be 1/],
    ["negative seq", '{"schema":1,"seq":-1,"paused":{}}', /"seq" must be a whole number/],
    ["paused a string", '{"schema":1,"seq":1,"paused":"yes"}', /"paused" must be an object/],
    ["paused.ralph a string", '{"schema":1,"seq":1,"paused":{"ralph":"true"}}', /"paused.ralph" must be true or false/],
    ["stop without reason", '{"schema":1,"seq":1,"paused":{},"stop":{"at":"x","by":"y"}}', /"stop.reason" must be a string/],
    ["nudges an object", '{"schema":1,"seq":1,"paused":{},"nudges":{}}', /"nudges" must be a list of objects/],
    ["a nudge for bob", `{"schema":1,"seq":1,"paused":{},"nudges":[${JSON.stringify({ ...nudge("n-1"), actor: "bob" })}]}`, /nudges\[0\]\.actor must be galph or ralph/],
    ["an id with a comma", `{"schema":1,"seq":1,"paused":{},"nudges":[${JSON.stringify(nudge("n-1,n-2"))}]}`, /nudges\[0\]\.id must be letters/],
    ["a duplicate id", `{"schema":1,"seq":1,"paused":{},"nudges":[${JSON.stringify(nudge("n-1"))},${JSON.stringify(nudge("n-1"))}]}`, /n-1 appears twice/],
  ];
  for (const [what, text, message] of broken) {
    test(`${what}: ControlInvalid (exit 3) naming the ref`, () => {
      let err: unknown;
      try {
        readControl(text, WHERE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ControlInvalid);
      expect((err as OrchError).exitCode).toBe(3);
      expect((err as Error).message).toContain(`control.json on ${WHERE} is invalid`);
      expect((err as Error).message).toMatch(message);
    });
  }

  test("missing optional parts read as their defaults; a hand-written stop without seq is as new as the document", () => {
    const doc = readControl('{"schema":1,"seq":3,"paused":{"galph":true},"stop":{"reason":"r","at":"a","by":"b"}}', WHERE);
    expect(doc.paused).toEqual({ galph: true, ralph: false });
    expect(doc.nudges).toEqual([]);
    expect(doc.stop!.seq).toBe(3);
  });
});

describe("applyChange", () => {
  test("pause and resume one actor or both; seq bumps only on a change", () => {
    let doc = emptyControl();
    let r = applyChange(doc, { kind: "pause", actors: ["ralph"] });
    expect(r).toMatchObject({ changed: true, summary: "paused ralph" });
    expect(r.doc.paused).toEqual({ galph: false, ralph: true });
    expect(r.doc.seq).toBe(1);
    doc = r.doc;
    r = applyChange(doc, { kind: "pause", actors: ["ralph"] });
    expect(r).toMatchObject({ changed: false, summary: "ralph was already paused" });
    expect(r.doc.seq).toBe(1);
    r = applyChange(doc, { kind: "pause", actors: ["galph", "ralph"] });
    expect(r).toMatchObject({ changed: true, summary: "paused galph; ralph was already paused" });
    doc = r.doc;
    expect(doc.paused).toEqual({ galph: true, ralph: true });
    r = applyChange(doc, { kind: "resume", actors: ["galph"], clearStop: false });
    expect(r.doc.paused).toEqual({ galph: false, ralph: true });
    expect(r.summary).toBe("resumed galph");
    r = applyChange(r.doc, { kind: "resume", actors: ["galph", "ralph"], clearStop: true });
    expect(r).toMatchObject({ changed: true, summary: "resumed ralph; galph was not paused" });
    expect(r.doc.seq).toBe(4);
    expect(applyChange(r.doc, { kind: "resume", actors: ["galph", "ralph"], clearStop: true })).toMatchObject({ changed: false, summary: "galph and ralph were not paused" });
    // The input document is never modified.
    expect(doc.paused).toEqual({ galph: true, ralph: true });
  });

  test("stop records reason, time, host and its seq; resume without an actor clears it; resume ACTOR keeps it", () => {
    const stopped = applyChange(emptyControl(), { kind: "stop", reason: "done for today", at: AT, by: "laptop" });
    expect(stopped.doc.stop).toEqual({ reason: "done for today", at: AT, by: "laptop", seq: 1 });
    expect(applyChange(stopped.doc, { kind: "stop", reason: "done for today", at: AT, by: "laptop" }).changed).toBe(false);
    expect(applyChange(stopped.doc, { kind: "resume", actors: ["ralph"], clearStop: false }).changed).toBe(false);
    const cleared = applyChange(stopped.doc, { kind: "resume", actors: ["galph", "ralph"], clearStop: true });
    expect(cleared).toMatchObject({ changed: true, summary: 'cleared the stop ("done for today"); galph and ralph were not paused' });
    expect(cleared.doc.stop).toBeNull();
  });

  test("stopApplies: a stop set after the runner's first read stops it; an older one does not", () => {
    const before = applyChange(emptyControl(), { kind: "pause", actors: ["galph"] }).doc; // seq 1
    const stopped = applyChange(before, { kind: "stop", reason: "r", at: AT, by: "h" }).doc; // seq 2
    expect(stopApplies(stopped, 0)).toBe(true); // started with no control document
    expect(stopApplies(stopped, 1)).toBe(true); // started before the stop
    expect(stopApplies(stopped, 2)).toBe(false); // started after it: an old stop
    const later = applyChange(stopped, { kind: "nudge", nudge: nudge("n-1") }).doc; // seq 3, stop still seq 2
    expect(stopApplies(later, 2)).toBe(false);
    expect(stopApplies(before, 0)).toBe(false);
  });

  test("nudges queue in order; re-applying the same nudge is a no-op; a taken id with other text is an error; a cap", () => {
    let doc = applyChange(emptyControl(), { kind: "nudge", nudge: nudge("n-1") }).doc;
    doc = applyChange(doc, { kind: "nudge", nudge: nudge("n-2", "galph") }).doc;
    doc = applyChange(doc, { kind: "nudge", nudge: nudge("n-3") }).doc;
    expect(pendingNudges(doc, "ralph").map((n) => n.id)).toEqual(["n-1", "n-3"]);
    expect(pendingNudges(doc, "galph").map((n) => n.id)).toEqual(["n-2"]);
    expect(applyChange(doc, { kind: "nudge", nudge: nudge("n-1") }).changed).toBe(false);
    expect(() => applyChange(doc, { kind: "nudge", nudge: nudge("n-1", "ralph", "other") })).toThrow(/already taken/);
    let full = emptyControl();
    for (let i = 0; i < NUDGES_MAX_PENDING; i++) full = applyChange(full, { kind: "nudge", nudge: nudge(`n-${i}`) }).doc;
    expect(() => applyChange(full, { kind: "nudge", nudge: nudge("n-x") })).toThrow(/already waiting/);
  });

  test("deliver moves only that actor's named pending nudges, once; a rerun of the turn finds them again", () => {
    let doc = emptyControl();
    for (const n of [nudge("n-1"), nudge("n-2", "galph"), nudge("n-3")]) doc = applyChange(doc, { kind: "nudge", nudge: n }).doc;
    const d = applyChange(doc, { kind: "deliver", actor: "ralph", ids: ["n-1", "n-2", "n-3", "n-gone"], iteration: 5, at: AT, by: "box-b" });
    expect(d.changed).toBe(true);
    expect(d.delivered.map((n) => n.id)).toEqual(["n-1", "n-3"]);
    expect(d.delivered[0]).toMatchObject({ text: "text of n-1", delivered_at: AT, delivered_by: "box-b", iteration: 5 });
    expect(d.summary).toBe("delivered n-1, n-3 to ralph");
    expect(pendingNudges(d.doc, "ralph")).toEqual([]);
    expect(pendingNudges(d.doc, "galph").map((n) => n.id)).toEqual(["n-2"]);
    // A second runner (or a retried CAS) claiming the same ids gets nothing: delivered once.
    const again = applyChange(d.doc, { kind: "deliver", actor: "ralph", ids: ["n-1", "n-3"], iteration: 5, at: AT, by: "box-c" });
    expect(again).toMatchObject({ changed: false, delivered: [] });
    expect(nudgesForTurn(d.doc, "ralph", 5).map((n) => n.id)).toEqual(["n-1", "n-3"]);
    expect(nudgesForTurn(d.doc, "ralph", 6)).toEqual([]);
    expect(nudgesForTurn(d.doc, "galph", 5)).toEqual([]);
    // It survives serialization, and a delivered id cannot be queued again with other text.
    const back = roundTrip(d.doc);
    expect(back.delivered).toEqual(d.doc.delivered);
    expect(() => applyChange(back, { kind: "nudge", nudge: nudge("n-1", "ralph", "different") })).toThrow(/already taken/);
  });

  test("the delivered list is bounded (oldest dropped)", () => {
    let doc = emptyControl();
    for (let i = 0; i < 40; i++) {
      doc = applyChange(doc, { kind: "nudge", nudge: nudge(`n-${i}`) }).doc;
      doc = applyChange(doc, { kind: "deliver", actor: "ralph", ids: [`n-${i}`], iteration: i, at: AT, by: "b" }).doc;
    }
    expect(doc.delivered.length).toBe(16);
    expect(doc.delivered.at(-1)!.id).toBe("n-39");
    expect(doc.seq).toBe(80);
  });
});

test("nudge ids: n- and 6 hex digits, distinct", () => {
  const ids = new Set(Array.from({ length: 200 }, newNudgeId));
  for (const id of ids) expect(id).toMatch(/^n-[0-9a-f]{6}$/);
  expect(ids.size).toBeGreaterThan(195);
});
