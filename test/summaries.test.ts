/**
 * Summaries that exist (issue 18): orch writes one per turn unless the agent
 * did; they are shipped, so `orch tail --source summaries` shows both actors
 * on either machine.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeEngineWorld, AGENTS } from "./helpers/engine-world.ts";
import type { Clone } from "./helpers/world.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];
const scratch = mkdtempSync(join(tmpdir(), "orch-summaries-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const replay = (name: string, fixtures: string[], ...extra: string[]) => [process.execPath, join(AGENTS, "replay.ts"), "--state", join(scratch, name), "--fixtures", fixtures.join(","), ...extra];

function summaries(c: Clone, actor: string): string[] {
  const dir = join(c.dir, "logs/feature-x", `${actor}-summaries`);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
const read = (c: Clone, actor: string, name: string) => readFileSync(join(c.dir, "logs/feature-x", `${actor}-summaries`, name), "utf8");

describe("orch writes a summary when the agent did not", () => {
  test("one per turn per actor at the SPEC path, with the final message and the commits; tail --source summaries shows both actors on galph's clone", async () => {
    const { a, b } = makeEngineWorld();
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "3", "--max-wait-sec", "30"]);
    const loop = b.orch(["loop", ...FAST, "--sync-loops", "3"]);
    expect(loop.code).toBe(0);
    expect(await sup.exited).toBe(0); // after its 3rd turn it waits for ralph's 3rd stamp, imports ralph's logs, and ends
    const g = summaries(a, "galph");
    const r = summaries(b, "ralph");
    expect(g.map((n) => n.slice(0, 10))).toEqual(["iter-00001", "iter-00002", "iter-00003"]);
    expect(r.map((n) => n.slice(0, 10))).toEqual(["iter-00001", "iter-00002", "iter-00003"]);
    for (const n of [...g, ...r]) expect(n).toMatch(/^iter-\d{5}_\d{8}_\d{6}-summary\.md$/);
    const text = read(b, "ralph", r[0]!);
    expect(text.split("\n")[0]).toMatch(/^# ralph i=1 · ok · \d+s · command/);
    expect(text).toContain("## Final message");
    expect(text).toContain("agent ralph: done");
    expect(text).toMatch(/- [0-9a-f]+ ralph: work for i=1/);
    expect(text).toContain("work-ralph.txt");
    // galph's clone has ralph's summaries too (shipped with the stamps), and the digest shows both, in order.
    const tail = a.orch(["tail", "feature-x", "-n", "3", "--source", "summaries", "--no-ls", "--no-fetch"]);
    expect(tail.code).toBe(0);
    const order = [...tail.stdout.matchAll(/<log role="(\w+)" iter="(\d+)"[^>]* source="summary" format="markdown" commit="[0-9a-f]+"/g)].map((m) => `${m[1]}${m[2]}`);
    expect(order).toEqual(["galph1", "ralph1", "galph2", "ralph2", "galph3", "ralph3"]);
  }, 90_000);

  test("an agent that writes its own summary at $ORCH_SUMMARY: kept untouched", () => {
    const agent = ["sh", "-c", 'cat >/dev/null; printf "# mine\\n" > "$ORCH_SUMMARY"'];
    const { a } = makeEngineWorld({ supervisorAgent: agent });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    const g = summaries(a, "galph");
    expect(g).toHaveLength(1);
    expect(read(a, "galph", g[0]!)).toBe("# mine\n");
  }, 30_000);

  test("logs.summaries = \"agent\": orch writes none of its own", () => {
    const { a } = makeEngineWorld({ extraToml: "[logs]\nsummaries = \"agent\"\n" });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    expect(summaries(a, "galph")).toEqual([]);
  }, 30_000);

  test("the claude and codex replays give the final message from the stream", () => {
    const { a, b } = makeEngineWorld({
      supervisorAgent: replay("codex", ["codex-exec-json-tooluse"]),
      supervisorKind: "codex",
      loopAgent: replay("claude", ["claude-stream-json-ok"]),
      loopKind: "claude",
    });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"], { env: { IS_SANDBOX: "1" } }).code).toBe(0);
    const codex = read(a, "galph", summaries(a, "galph")[0]!);
    const claude = read(b, "ralph", summaries(b, "ralph")[0]!);
    const final = (fixture: string, pick: (l: Record<string, any>) => string | undefined) =>
      readFileSync(join(AGENTS, "../agent-cli", fixture), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .map(pick)
        .filter(Boolean)
        .at(-1)!;
    expect(codex).toContain(final("codex-exec-json-tooluse.jsonl", (l) => (l.item?.type === "agent_message" ? l.item.text : undefined)).trim());
    expect(claude).toContain(final("claude-stream-json-ok.jsonl", (l) => (l.type === "result" ? l.result : undefined)).trim());
    expect(codex.split("\n")[0]).toMatch(/^# galph i=1 · ok · \d+s · codex/);
  }, 40_000);
});
