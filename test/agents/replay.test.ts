/** The replay fake agent the engine tests use: it must replay real output faithfully. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { adapterFor } from "../../src/agents/index.ts";
import { rewriteReset } from "../fixtures/agents/replay.ts";
import { loadFixture } from "./feed.ts";

const REPLAY = resolve(import.meta.dir, "../fixtures/agents/replay.ts");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "orch-replay-"));
  dirs.push(d);
  return d;
};

async function replay(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  const proc = Bun.spawn([process.execPath, REPLAY, ...args], { stdin: new Blob([opts.stdin ?? ""]), stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", ...opts.env } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, out: stdout.split("\n").filter(Boolean), err: stderr.split("\n").filter(Boolean) };
}

const calls = (state: string) => readFileSync(join(state, "calls.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

describe("replay.ts", () => {
  test("the Nth call replays the Nth fixture (the last repeats), with its exit code; every call is recorded", async () => {
    const state = tmp();
    const fixtures = ["--fixtures", "claude-oauth-stream-429-usage,claude-stream-json-tooluse"];
    const first = await replay(["--state", state, ...fixtures, "-p", "--verbose"], { stdin: "You are ralph.\n", env: { ORCH_ITERATION: "7", ORCH_ACTOR: "ralph", SECRET_TOKEN: "x" } });
    expect(first.code).toBe(1);
    expect(first.out).toEqual(loadFixture("claude-oauth-stream-429-usage").stdout);
    const second = await replay(["--state", state, ...fixtures, "-p", "--resume", "5e2ca233-1829-4dc1-8c75-8f701eb47937"], { stdin: "continue\n" });
    expect(second.code).toBe(0);
    expect(second.out).toEqual(loadFixture("claude-stream-json-tooluse").stdout);
    const third = await replay(["--state", state, ...fixtures]);
    expect(third.out).toEqual(second.out);
    const c = calls(state);
    expect(c.map((x) => [x.n, x.fixture])).toEqual([[0, "claude-oauth-stream-429-usage"], [1, "claude-stream-json-tooluse"], [2, "claude-stream-json-tooluse"]]);
    expect(c[0].env).toEqual({ ORCH_ITERATION: "7", ORCH_ACTOR: "ralph" });
    expect(c[0].stdin).toBe("You are ralph.\n");
    expect(c[1].args.slice(-2)).toEqual(["--resume", "5e2ca233-1829-4dc1-8c75-8f701eb47937"]);
    expect(c[1].stdin).toBe("continue\n");
  });

  test("stderr and stdout both replayed; the output parses exactly like the capture", async () => {
    const state = tmp();
    const r = await replay(["--state", state, "--fixtures", "codex-text-429-usage"]);
    const f = loadFixture("codex-text-429-usage");
    expect(r.code).toBe(1);
    expect(r.err).toEqual(f.stderr.filter(Boolean));
    const p = adapterFor("auto", ["codex", "exec"]).newParser({ localTimeZone: "UTC" });
    for (const l of r.err) p.stderr(l, new Date("2026-12-01T07:10:00Z"));
    expect(p.finish({ code: r.code, timedOut: false }, new Date("2026-12-01T07:10:01Z")).end).toMatchObject({ kind: "limit", resetAt: new Date("2026-12-01T08:09:00Z") });
  });

  test("--reset-in N moves every reset to now+N seconds, in every form", async () => {
    const state = tmp();
    const before = Date.now();
    const r = await replay(["--state", state, "--fixtures", "claude-oauth-stream-429-usage", "--reset-in", "2"]);
    const p = adapterFor("claude", []).newParser();
    for (const l of r.out) p.stdout(l, new Date());
    const end = p.finish({ code: r.code, timedOut: false }, new Date()).end;
    expect(end.kind).toBe("limit");
    const at = end.kind === "limit" ? end.resetAt!.getTime() : 0;
    expect(at).toBeGreaterThanOrEqual(before + 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 3000);
    expect(r.stdout).toContain("resets in 2 seconds");

    const now = Date.parse("2026-12-01T07:10:00Z");
    expect(rewriteReset("or try again at 8:09 AM.", 3, now)).toBe("or try again in 3 seconds.");
    expect(rewriteReset("or try again at Sep 11th, 2026 12:26 AM.", 3, now)).toBe("or try again in 3 seconds.");
    expect(rewriteReset("try again in 2 days 17 hours 14 minutes.", 3, now)).toBe("try again in 3 seconds.");
    expect(rewriteReset("resets Apr 23 at 4pm (America/Recife)", 3, now)).toBe("resets in 3 seconds");
    expect(rewriteReset("Claude AI usage limit reached|1749924000", 3, now)).toBe(`Claude AI usage limit reached|${now / 1000 + 3}`);
    expect(rewriteReset('{"resetsAt":1796112820,"x":1}', 3, now)).toBe(`{"resetsAt":${now / 1000 + 3},"x":1}`);
  });

  test("--hang prints the init line, then stays silent until killed", async () => {
    const state = tmp();
    const proc = Bun.spawn([process.execPath, REPLAY, "--state", state, "--fixtures", "claude-stream-json-ok", "--hang"], { stdin: new Blob(["p"]), stdout: "pipe", stderr: "ignore" });
    const reader = proc.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(JSON.parse(text.trim())).toMatchObject({ type: "system", subtype: "init", session_id: "1e68a7e1-99a6-4ecb-a625-47340a4737a1" });
    const quiet = await Promise.race([proc.exited.then(() => "exited"), Bun.sleep(500).then(() => "running")]);
    expect(quiet).toBe("running");
    proc.kill("SIGTERM");
    await proc.exited;
    expect(proc.signalCode).toBe("SIGTERM");
    expect(calls(state)).toHaveLength(1);
  });

  test("--work FILE records a successful run; bad usage exits 2 with one line", async () => {
    const state = tmp();
    const work = join(state, "work.txt");
    await replay(["--state", state, "--fixtures", "claude-stream-529,claude-stream-json-ok", "--work", work], { env: { ORCH_ITERATION: "3" } });
    await replay(["--state", state, "--fixtures", "claude-stream-529,claude-stream-json-ok", "--work", work], { env: { ORCH_ITERATION: "3" } });
    expect(readFileSync(work, "utf8")).toBe("n=1 iteration=3\n");
    const bad = await replay(["--state", state, "--fixtures", "no-such-fixture"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^replay: no fixture no-such-fixture in .*\n$/);
    const none = await replay(["--fixtures", "claude-stream-json-ok"]);
    expect(none.code).toBe(2);
  });
});
