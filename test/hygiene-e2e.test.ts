import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { makeEngineWorld, remoteSubjects } from "./helpers/engine-world.ts";
import { ROOT } from "./helpers/world.ts";

const LEAVE = join(ROOT, "test/fixtures/hygiene/leave-files.sh");
const leave = (...specs: string[]) => ["sh", LEAVE, ...specs];
const ONE_TURN = ["--sync-via-git", "--sync-loops", "1", "--poll-interval", "0"];

describe("hygiene through the binary", () => {
  test("a stray file fails the handoff: fail stamp pushed, exit 4, file untouched, path on the console", () => {
    const { world, a } = makeEngineWorld({ supervisorAgent: leave("src/x.bin=junk", "input.md=next") });
    const r = a.orch(["supervisor", ...ONE_TURN]);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("src/x.bin");
    const subjects = remoteSubjects(world, a);
    // A refused handoff pushes its fail stamp and nothing else (issue 11): no auto-commit goes out with it.
    expect(subjects.at(-2)).toBe("[SYNC i=1] actor=galph status=running");
    expect(subjects.at(-1)).toMatch(/^\[SYNC i=1\] actor=galph status=fail galph_commit=[0-9a-f]{7,}$/);
    expect(a.read("src/x.bin")).toBe("junk\n");
    expect(a.git("status", "--porcelain", "-uall").trim()).toBe("?? input.md\n?? src/x.bin");
    const log = a.git("ls-files", "--others", "--ignored", "--exclude-standard", "logs").trim().split("\n").find((f) => f.endsWith(".log"))!;
    expect(a.read(log)).toContain("src/x.bin");
  }, 60_000);

  test("supervisor doc/meta commit lands before the ok stamp; the loop pre-publishes and commits its reports", () => {
    const { world, a, b } = makeEngineWorld({
      supervisorAgent: leave("docs/fix_plan.md=plan", "prompts/extra/notes.md=n"),
      loopAgent: leave("reports/r.txt=evidence"),
    });
    const sup = a.orch(["supervisor", ...ONE_TURN, "--no-auto-commit-reports", "--max-wait-sec", "1"]);
    expect(sup.code).toBe(5); // its turn is done; waiting for ralph timed out
    let subjects = remoteSubjects(world, a);
    expect(subjects.slice(-3, -1)).toEqual(["[SYNC i=1] actor=galph status=running", "SUPERVISOR AUTO: doc/meta hygiene — tests: not run"]);
    const docSha = a.git("rev-parse", "--short", `origin/${world.branch}~1`).trim();
    expect(subjects.at(-1)).toBe(`[SYNC i=1] actor=galph → next=ralph status=ok galph_commit=${docSha}`);
    expect(a.git("log", "-1", "--format=%b", `origin/${world.branch}~1`).trim()).toBe("Files:\n - docs/fix_plan.md\n - prompts/extra/notes.md");

    b.write("plans/active/p/reports/before.txt", "pre\n");
    const loop = b.orch(["loop", ...ONE_TURN]);
    expect(loop.code).toBe(0);
    subjects = remoteSubjects(world, b);
    const at = subjects.indexOf("RALPH AUTO PRE-PULL: reports evidence — autopublish");
    expect(at).toBeGreaterThan(0);
    expect(subjects.slice(at + 1)).toEqual([
      "[SYNC i=1] actor=ralph status=running",
      "RALPH AUTO: reports evidence — tests: not run",
      expect.stringMatching(/^\[SYNC i=2\] actor=ralph → next=galph status=ok ralph_commit=[0-9a-f]{7,}$/),
    ]);
    expect(b.git("status", "--porcelain").trim()).toBe("");
  }, 60_000);
});
