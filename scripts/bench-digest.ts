// Digest benchmark (`make bench` runs it): builds a synthetic workspace of
// 200 iterations × 2 roles × 500 KB logs full of ANSI escapes, `]]>`, control
// characters and non-ASCII text, with the matching stamp commits, then times
// `orch tail` on it against `cat` over the same files (the floor).
//
// Usage: bun scripts/bench-digest.ts [--iterations N] [--log-kb N] [--runs N] [--keep]
// Env ORCH_BIN picks the binary (default dist/orch).
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseXml } from "../test/helpers/xmlcheck.ts";

const ROOT = resolve(import.meta.dir, "..");
const BIN = process.env.ORCH_BIN ?? join(ROOT, "dist/orch");
const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const ITERATIONS = opt("iterations", 200);
const LOG_BYTES = opt("log-kb", 500) * 1024;
const RUNS = opt("runs", 5);
const KEEP = argv.includes("--keep");
const PREFIX = "bench-digest";
const TARGETS = { allNoLsWallMs: 1000, allNoLsRssMb: 100, last30WallMs: 300 };

const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
};

function git(cwd: string, args: string[], input?: string | Uint8Array): string {
  const r = Bun.spawnSync(["git", ...args], { cwd, env, stdin: input === undefined ? "ignore" : Buffer.from(input), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** One log body: agent-like lines with colours, cursor moves, OSC titles, `]]>`, NUL/BEL, invalid UTF-8. */
function logBody(role: string, seed: number): Uint8Array {
  const lines = [
    `\x1b[1;32m✓\x1b[0m test_${role}_${seed} passed in 0.42s — résumé 日本語 ✨ (ok)\n`,
    `\x1b[33mwarning\x1b[39m: unused variable \`x\` at src/lib.rs:${seed % 997}:7 ]]> see <docs/fix_plan.md> & "notes"\n`,
    `\x1b]0;agent ${role} turn ${seed}\x07\x1b[2K\x1b[1G[${"#".repeat(seed % 40)}${" ".repeat(40 - (seed % 40))}] ${seed % 100}%\r\n`,
    `{"type":"assistant","message":{"content":[{"type":"text","text":"Looking at the failing test\\u2026 ]]> ok"}]}}\n`,
    `plain progress line ${seed} with tabs\tand\tcolumns \x00 nul \x07 bell \x1b(B end\n`,
  ];
  const text = Buffer.from(lines.join(""));
  const invalid = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a]); // invalid UTF-8, then a newline
  const out = Buffer.alloc(LOG_BYTES);
  let off = Buffer.from(`$ ${role === "galph" ? "codex exec" : "claude -p"} (iteration ${seed})\n`).copy(out, 0);
  while (off < LOG_BYTES) {
    off += text.copy(out, off);
    if (off < LOG_BYTES) off += invalid.copy(out, off);
  }
  return out;
}

/** Stamp history through one `git fast-import`: per iteration galph ok (with a docs change), ralph ok (with a plans change). */
function buildHistory(dir: string): void {
  const parts: string[] = [];
  const blob = (path: string, content: string) => `M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`;
  let mark = 0;
  let time = 1_760_000_000;
  const commit = (subject: string, files: string) => {
    mark++;
    time += 60;
    parts.push(
      `commit refs/heads/main\nmark :${mark}\ncommitter bench <bench@example.com> ${time} +0000\ndata ${Buffer.byteLength(subject)}\n${subject}\n` +
        (mark > 1 ? `from :${mark - 1}\n` : "") +
        files,
    );
  };
  const state = (it: number, actor: string) => JSON.stringify({ iteration: it, expected_actor: actor, status: "complete" }, null, 2) + "\n";
  commit("initial", blob("README.md", "# bench\n") + blob("docs/index.md", "index\n") + blob("sync/state.json", state(1, "galph")));
  for (let i = 1; i <= ITERATIONS; i++) {
    commit(`[SYNC i=${i}] actor=galph \u2192 next=ralph status=ok galph_commit=${"a".repeat(7)}`, blob("sync/state.json", state(i, "ralph")) + blob(`docs/notes-${i}.md`, `note ${i}\n`));
    commit(`[SYNC i=${i + 1}] actor=ralph \u2192 next=galph status=ok ralph_commit=${"b".repeat(7)}`, blob("sync/state.json", state(i + 1, "galph")) + blob(`plans/active/iter-${i}.md`, `plan ${i}\n`) + blob(`reports/r-${i}.txt`, `report ${i}\n`));
  }
  git(dir, ["fast-import", "--quiet"], parts.join(""));
  git(dir, ["reset", "-q", "--hard", "main"]);
}

function buildWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "orch-bench-digest-"));
  git(dir, ["init", "-q", "-b", "main"]);
  buildHistory(dir);
  for (const role of ["galph", "ralph"]) {
    const logDir = join(dir, "logs", PREFIX, role);
    mkdirSync(logDir, { recursive: true });
    for (let i = 1; i <= ITERATIONS; i++) {
      const name = `iter-${String(i).padStart(5, "0")}_20260101_${String(i).padStart(6, "0")}${role === "ralph" ? "_main" : ""}.log`;
      writeFileSync(join(logDir, name), logBody(role, i));
    }
  }
  return dir;
}

interface Sample {
  wallMs: number;
  rssMb: number;
  code: number;
}

/** GNU time gives the child's own peak RSS; Bun's resourceUsage also counts the spawning parent's pages. */
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

function measure(cmd: string[], cwd: string): Sample {
  const rssFile = join(tmpdir(), `orch-bench-rss-${process.pid}`);
  const argv = GNU_TIME ? [GNU_TIME, "-f", "%M", "-o", rssFile, ...cmd] : cmd;
  const start = performance.now();
  const proc = Bun.spawnSync(argv, { cwd, env, stdout: "ignore", stderr: "pipe" });
  const wallMs = performance.now() - start;
  if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${proc.exitCode}: ${proc.stderr.toString()}`);
  let rssMb = (proc.resourceUsage?.maxRSS ?? 0) / (1024 * 1024);
  if (GNU_TIME) {
    rssMb = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop()) / 1024;
    rmSync(rssFile, { force: true });
  }
  return { wallMs, rssMb, code: proc.exitCode ?? 0 };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function series(cmd: string[], cwd: string): { wallMs: number; rssMb: number } {
  measure(cmd, cwd); // warm the page cache and the binary
  const samples = Array.from({ length: RUNS }, () => measure(cmd, cwd));
  return { wallMs: median(samples.map((s) => s.wallMs)), rssMb: Math.max(...samples.map((s) => s.rssMb)) };
}

function logFiles(dir: string, lastIterations: number): string[] {
  const files: string[] = [];
  for (const role of ["galph", "ralph"]) {
    const roleDir = join(dir, "logs", PREFIX, role);
    const names = readdirSync(roleDir).sort();
    files.push(...(lastIterations > 0 ? names.slice(-lastIterations) : names).map((n) => join(roleDir, n)));
  }
  return files;
}

const XMLLINT = Bun.which("xmllint");

/** Check one real digest of the synthetic logs: xmllint when installed, else the built-in strict reader. */
function wellFormed(dir: string): boolean {
  const out = join(dir, "digest-30.xml");
  const r = Bun.spawnSync([BIN, "tail", PREFIX, "-n", "30", "-o", out], { cwd: dir, env, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) return false;
  if (XMLLINT) return Bun.spawnSync([XMLLINT, "--noout", "--huge", out], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  try {
    parseXml(readFileSync(out, "utf8"));
    return true;
  } catch {
    return false;
  }
}

const fmtMs = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

const t0 = performance.now();
const dir = buildWorkspace();
const totalMb = (ITERATIONS * 2 * LOG_BYTES) / (1024 * 1024);
console.log(`digest benchmark: ${ITERATIONS} iterations × 2 roles × ${LOG_BYTES / 1024} KB = ${totalMb.toFixed(0)} MB of logs, ${ITERATIONS * 2 + 1} commits (built in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${dir})`);
console.log(`binary: ${BIN}; median wall of ${RUNS} runs after one warm-up; peak RSS (${GNU_TIME ? "GNU time" : "rusage"}) is the largest seen; output to /dev/null`);
try {
  const all = series([BIN, "tail", PREFIX, "-n", "0", "--no-ls"], dir);
  const catAll = series(["cat", ...logFiles(dir, 0)], dir);
  const last30 = series([BIN, "tail", PREFIX, "-n", "30"], dir);
  const cat30 = series(["cat", ...logFiles(dir, 30)], dir);
  const rows = [
    [`orch tail -n 0 --no-ls`, all, catAll, `wall < ${TARGETS.allNoLsWallMs} ms: ${verdict(all.wallMs < TARGETS.allNoLsWallMs)}; RSS < ${TARGETS.allNoLsRssMb} MB: ${verdict(all.rssMb < TARGETS.allNoLsRssMb)}`],
    [`orch tail -n 30`, last30, cat30, `wall < ${TARGETS.last30WallMs} ms: ${verdict(last30.wallMs < TARGETS.last30WallMs)}`],
  ] as const;
  for (const [name, run, floor, target] of rows) {
    console.log(
      `${name.padEnd(24)} wall ${fmtMs(run.wallMs)}  peak RSS ${run.rssMb.toFixed(0).padStart(4)} MB  | cat ${fmtMs(floor.wallMs)}  ratio ${(run.wallMs / floor.wallMs).toFixed(1)}×  | target ${target}`,
    );
  }
  // Informational: the whole history with snapshots (two git processes for the <ls> of every log).
  const allLs = series([BIN, "tail", PREFIX, "-n", "0"], dir);
  console.log(`${"orch tail -n 0".padEnd(24)} wall ${fmtMs(allLs.wallMs)}  peak RSS ${allLs.rssMb.toFixed(0).padStart(4)} MB  | cat ${fmtMs(catAll.wallMs)}  ratio ${(allLs.wallMs / catAll.wallMs).toFixed(1)}×  | (no target: every log with its <ls>)`);
  console.log(`well-formed (-n 30 output, ${XMLLINT ? "xmllint" : "built-in checker"}): ${wellFormed(dir) ? "yes" : "NO"}`);
  const missed = all.wallMs >= TARGETS.allNoLsWallMs || all.rssMb >= TARGETS.allNoLsRssMb || last30.wallMs >= TARGETS.last30WallMs || !wellFormed(dir);
  if (missed) process.exitCode = 1;
} finally {
  if (KEEP) console.log(`workspace kept at ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
