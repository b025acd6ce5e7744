#!/usr/bin/env bun
/**
 * `make bench`: every benchmark in turn, each in its own process with the
 * terminal as its output: the engine benchmark, then the digest benchmark
 * (when scripts/bench-digest.ts exists). All of them run even when one misses
 * its targets; the exit code is non-zero when any of them did.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

const BENCHMARKS = [
  { name: "engine", script: "bench-engine.ts" },
  { name: "digest", script: "bench-digest.ts" },
  { name: "secrets", script: "bench-secrets.ts" },
  { name: "report", script: "bench-report.ts" },
];

const results: string[] = [];
let failed = false;
for (const { name, script } of BENCHMARKS) {
  const path = join(import.meta.dir, script);
  if (!existsSync(path)) {
    results.push(`${name}: skipped (scripts/${script} not present)`);
    continue;
  }
  console.log(`\n=== ${name} benchmark (scripts/${script}) ===`);
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, path], { stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  const code = await proc.exited;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  results.push(`${name}: ${code === 0 ? "ok" : code === 1 ? "missed a target (exit 1)" : `failed (exit ${code})`}, ${seconds} s`);
  if (code !== 0) failed = true;
}
console.log(`\n=== summary ===\n${results.map((r) => `  ${r}`).join("\n")}`);
process.exit(failed ? 1 : 0);
