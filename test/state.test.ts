import { describe, expect, test, afterAll } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  initialState,
  isoUtc,
  markRunning,
  parseState,
  parseSubject,
  readStateFile,
  serializeState,
  stampOutcome,
  subjects,
  writeStateFile,
  type State,
} from "../src/core/state.ts";
import { OrchError } from "../src/core/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "orch-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The SPEC §2 example, byte for byte. */
const SPEC_EXAMPLE =
  '{\n  "iteration": 3,\n  "expected_actor": "galph",\n  "status": "complete",\n  "last_update": "2026-11-24T09:08:31Z",\n' +
  '  "lease_expires_at": "2026-11-24T09:18:31Z",\n  "galph_commit": "8e6221c",\n  "ralph_commit": null\n}\n';

function base(over: Partial<State> = {}): State {
  return {
    iteration: 3,
    expected_actor: "galph",
    status: "complete",
    last_update: "2026-11-24T09:08:31Z",
    lease_expires_at: "2026-11-24T09:18:31Z",
    galph_commit: "8e6221c",
    ralph_commit: null,
    extra: {},
    ...over,
  };
}

function expectStateError(text: string, ...fragments: string[]): void {
  let caught: unknown;
  try {
    parseState(text, "sync/state.json");
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OrchError);
  const err = caught as OrchError;
  expect(err.exitCode).toBe(3);
  expect(err.message).toStartWith("sync/state.json: ");
  expect(err.message).not.toContain("\n");
  for (const f of fragments) expect(err.message).toContain(f);
}

describe("serialisation (SPEC §2 compat with Python json.dump(indent=2) + newline)", () => {
  test("the SPEC example round-trips byte for byte", () => {
    expect(serializeState(parseState(SPEC_EXAMPLE, "s"))).toBe(SPEC_EXAMPLE);
    expect(serializeState(base())).toBe(SPEC_EXAMPLE);
  });

  test("the seven keys come first in SPEC order, whatever the file's order", () => {
    const shuffled = JSON.stringify({ ralph_commit: null, exit: true, status: "complete", iteration: 3, galph_commit: "8e6221c", expected_actor: "galph", lease_expires_at: "2026-11-24T09:18:31Z", last_update: "2026-11-24T09:08:31Z" });
    const out = serializeState(parseState(shuffled, "s"));
    expect(out).toBe(SPEC_EXAMPLE.replace('"ralph_commit": null\n}', '"ralph_commit": null,\n  "exit": true\n}'));
  });

  test("unknown keys are preserved in order, nested values in Python's layout, ensure_ascii escapes", () => {
    // Expected bytes produced by CPython 3: json.dumps(value, indent=2) + "\n".
    const extra = {
      a: 1e-5,
      b: 0.0001,
      c: -2.5e-10,
      d: 123.456,
      e: 1.5,
      f: [],
      g: {},
      h: [1, [2, {}], { x: [] }],
      s: 'tab\there "q" back\\ nl\n bell\x07 del\x7f é € 😀 \u2192 /',
      é: true,
      n: null,
    };
    const python =
      '  "a": 1e-05,\n  "b": 0.0001,\n  "c": -2.5e-10,\n  "d": 123.456,\n  "e": 1.5,\n  "f": [],\n  "g": {},\n  "h": [\n    1,\n    [\n      2,\n      {}\n    ],\n    {\n      "x": []\n    }\n  ],\n' +
      '  "s": "tab\\there \\"q\\" back\\\\ nl\\n bell\\u0007 del\\u007f \\u00e9 \\u20ac \\ud83d\\ude00 \\u2192 /",\n  "\\u00e9": true,\n  "n": null\n}\n';
    const out = serializeState(base({ extra }));
    expect(out).toBe(SPEC_EXAMPLE.replace('"ralph_commit": null\n}\n', '"ralph_commit": null,\n') + python);
    // Everything orch writes is ASCII.
    expect(/^[\x00-\x7e]*$/.test(out)).toBe(true);
    // And it parses back to the same values.
    expect(parseState(out, "s").extra).toEqual(extra);
  });

  test("non-ASCII in the seven keys is escaped too", () => {
    const out = serializeState(base({ galph_commit: "é→" }));
    expect(out).toContain('"galph_commit": "\\u00e9\\u2192",');
  });

  const python = Bun.which("python3");
  test.skipIf(!python)("matches CPython byte for byte on a mixed document (cross-check)", () => {
    const doc = {
      iteration: 12,
      expected_actor: "ralph",
      status: "running-ralph",
      last_update: "2026-01-02T03:04:05Z",
      lease_expires_at: "2026-01-02T03:14:05Z",
      galph_commit: "abc1234",
      ralph_commit: "d\u00e9f",
      exit: false,
      exit_reason: "wartung \u00fcber nacht \u{1F527}",
      numbers: [0, -1, 3.25, 1e-7, 0.5e-4, 6.02e23, 123456789.5],
      deep: { a: { b: { c: ["\u0001", "\u001f", "\u007f", "\u0080", "\uffff"] } } },
    };
    const text = JSON.stringify(doc);
    const r = Bun.spawnSync([python!, "-c", "import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), indent=2) + '\\n')"], { stdin: Buffer.from(text) });
    expect(r.exitCode).toBe(0);
    expect(serializeState(parseState(text, "s"))).toBe(r.stdout.toString());
  });
});

describe("parsing: invalid state is exit 3 naming the file and the problem, never reset", () => {
  test("not JSON", () => expectStateError("{not json", "not valid JSON", "git checkout -- sync/state.json"));
  test("empty file", () => expectStateError("", "not valid JSON"));
  test("not an object", () => {
    expectStateError("[1, 2]", "expected a JSON object");
    expectStateError("null", "expected a JSON object");
    expectStateError('"galph"', "expected a JSON object");
  });
  test("wrong-typed fields name the field", () => {
    expectStateError('{"iteration": "3"}', "field 'iteration'", '"3"');
    expectStateError('{"iteration": -1}', "field 'iteration'");
    expectStateError('{"iteration": 2.5}', "field 'iteration'");
    expectStateError('{"expected_actor": "bob"}', "field 'expected_actor'", '"bob"');
    expectStateError('{"status": "done"}', "field 'status'", "idle, running-galph");
    expectStateError('{"last_update": 5}', "field 'last_update'");
    expectStateError('{"lease_expires_at": []}', "field 'lease_expires_at'");
    expectStateError('{"galph_commit": 123}', "field 'galph_commit'");
    expectStateError('{"ralph_commit": false}', "field 'ralph_commit'");
    expectStateError('{"exit": "yes"}', "field 'exit'");
  });
  test("missing keys take defaults (galph's turn, iteration 1)", () => {
    const s = parseState("{}", "s");
    expect(s.iteration).toBe(1);
    expect(s.expected_actor).toBe("galph");
    expect(s.status).toBe("idle");
    expect(s.galph_commit).toBeNull();
    expect(s.last_update).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
  test("every SPEC status is accepted", () => {
    for (const status of ["idle", "running-galph", "waiting-ralph", "running-ralph", "complete", "failed"]) {
      expect(parseState(JSON.stringify({ status }), "s").status).toBe(status as State["status"]);
    }
  });
});

describe("files", () => {
  test("a missing file reads as null", () => {
    expect(readStateFile(join(dir, "nope.json"))).toBeNull();
  });

  test("an unreadable path is exit 3", () => {
    expect(() => readStateFile(dir, "sync")).toThrow(OrchError);
  });

  test("writes are atomic: exact bytes, parent directories created, no temp file left", () => {
    const path = join(dir, "w", "sync", "state.json");
    writeStateFile(path, base());
    expect(readFileSync(path, "utf8")).toBe(SPEC_EXAMPLE);
    writeStateFile(path, base({ iteration: 4 }));
    expect(readFileSync(path, "utf8")).toContain('"iteration": 4,');
    expect(readdirSync(join(dir, "w", "sync"))).toEqual(["state.json"]);
    expect(readStateFile(path)!.iteration).toBe(4);
  });

  test("a rewrite replaces the file rather than writing into it (readers never see a torn file)", () => {
    const path = join(dir, "inode.json");
    writeFileSync(path, SPEC_EXAMPLE);
    const before = Bun.spawnSync(["stat", "-c", "%i", path]).stdout.toString();
    writeStateFile(path, base({ iteration: 9 }));
    const after = Bun.spawnSync(["stat", "-c", "%i", path]).stdout.toString();
    expect(after).not.toBe(before);
  });
});

describe("transitions and subjects (SPEC §3)", () => {
  const now = new Date("2026-11-24T10:00:00.789Z");
  const start = base({ iteration: 5, galph_commit: "1111111", ralph_commit: "2222222", extra: { exit_reason: "x" } });

  test("every transition: fields, timestamps, lease = now + 10 min, extras kept, input untouched", () => {
    const cases: [ReturnType<typeof stampOutcome>, Partial<State>][] = [
      [stampOutcome(start, "galph", "ok", "abcdef0", now), { iteration: 5, expected_actor: "ralph", status: "waiting-ralph", galph_commit: "abcdef0", ralph_commit: "2222222" }],
      [stampOutcome(start, "galph", "fail", "abcdef0", now), { iteration: 5, expected_actor: "galph", status: "failed", galph_commit: "abcdef0", ralph_commit: "2222222" }],
      [stampOutcome(start, "ralph", "ok", "abcdef0", now), { iteration: 6, expected_actor: "galph", status: "complete", galph_commit: "1111111", ralph_commit: "abcdef0" }],
      [stampOutcome(start, "ralph", "fail", "abcdef0", now), { iteration: 5, expected_actor: "ralph", status: "failed", galph_commit: "1111111", ralph_commit: "abcdef0" }],
      [markRunning(start, "galph", now), { iteration: 5, expected_actor: "galph", status: "running-galph", galph_commit: "1111111", ralph_commit: "2222222" }],
      [markRunning(start, "ralph", now), { iteration: 5, expected_actor: "ralph", status: "running-ralph", galph_commit: "1111111", ralph_commit: "2222222" }],
    ];
    for (const [next, want] of cases) {
      expect(next).toMatchObject(want);
      expect(next.last_update).toBe("2026-11-24T10:00:00Z");
      expect(next.lease_expires_at).toBe("2026-11-24T10:10:00Z");
      expect(next.extra).toEqual({ exit_reason: "x" });
      expect(next.extra).not.toBe(start.extra);
    }
    expect(start.iteration).toBe(5);
    expect(start.status).toBe("complete");
  });

  test("exact subjects, with U+2192 in the ok stamps", () => {
    expect(subjects.init()).toBe("[SYNC init] actor=galph status=idle");
    expect(subjects.running("galph", 7)).toBe("[SYNC i=7] actor=galph status=running");
    expect(subjects.running("ralph", 7)).toBe("[SYNC i=7] actor=ralph status=running");
    expect(subjects.stamp("galph", "ok", 7, "8e6221c")).toBe("[SYNC i=7] actor=galph \u2192 next=ralph status=ok galph_commit=8e6221c");
    expect(subjects.stamp("galph", "fail", 7, "8e6221c")).toBe("[SYNC i=7] actor=galph status=fail galph_commit=8e6221c");
    expect(subjects.stamp("ralph", "ok", 8, "8e6221c")).toBe("[SYNC i=8] actor=ralph \u2192 next=galph status=ok ralph_commit=8e6221c");
    expect(subjects.stamp("ralph", "fail", 7, "8e6221c")).toBe("[SYNC i=7] actor=ralph status=fail ralph_commit=8e6221c");
  });

  test("subjects parse back", () => {
    expect(parseSubject(subjects.init())).toEqual({ kind: "init", actor: "galph", iteration: null, sha: undefined });
    expect(parseSubject(subjects.running("ralph", 3))).toEqual({ kind: "running", actor: "ralph", iteration: 3, sha: undefined });
    expect(parseSubject(subjects.stamp("ralph", "ok", 4, "abc1234"))).toEqual({ kind: "ok", actor: "ralph", iteration: 4, sha: "abc1234" });
    expect(parseSubject(subjects.stamp("galph", "fail", 2, "abc1234"))).toEqual({ kind: "fail", actor: "galph", iteration: 2, sha: "abc1234" });
    expect(parseSubject("Merge branch 'x'")).toBeNull();
  });

  test("initial state and timestamps", () => {
    const s = initialState(now);
    expect(serializeState(s)).toBe(
      '{\n  "iteration": 1,\n  "expected_actor": "galph",\n  "status": "idle",\n  "last_update": "2026-11-24T10:00:00Z",\n  "lease_expires_at": "2026-11-24T10:10:00Z",\n  "galph_commit": null,\n  "ralph_commit": null\n}\n',
    );
    expect(isoUtc(new Date("2026-01-02T03:04:05.999Z"))).toBe("2026-01-02T03:04:05Z");
  });
});
