#!/usr/bin/env bun
/**
 * Chaos soak (`make soak ITERATIONS=200 FAULTS=50 SEED=1`): two real runners of
 * the compiled binary on two clones of a temporary remote, fast fake agents, and
 * seeded faults; then every invariant is checked from the remote's history.
 *
 *   bun scripts/soak.ts --iterations N --faults N --seed N [--seeds 1,2,3] [--kinds k1,k2] [--quick] [--keep] [--json FILE] [--quiet]
 *
 * --kinds draws the faults from these kinds only (e.g. split-brain,second-runner).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FAULT_KINDS, type FaultKind } from "./soak/faults.ts";
import { renderFigures } from "./soak/figures.ts";
import { runSoak, type SoakResult } from "./soak/run.ts";

const { values } = parseArgs({
  options: {
    iterations: { type: "string", default: "200" },
    faults: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    seeds: { type: "string" },
    kinds: { type: "string" },
    quick: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    json: { type: "string" },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (values.help) {
  console.log("usage: bun scripts/soak.ts --iterations N --faults N --seed N [--seeds 1,2,3] [--kinds k1,k2] [--quick] [--keep] [--json FILE] [--quiet]");
  console.log(`fault kinds: ${FAULT_KINDS.join(", ")}`);
  process.exit(0);
}
const int = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`soak: --${name} must be a non-negative integer, got '${text}'`);
    process.exit(2);
  }
  return n;
};
const iterations = int("iterations", values.iterations!);
const faults = int("faults", values.faults!);
const seeds = (values.seeds ?? values.seed!).split(",").map((s) => int("seed", s.trim()));
const kinds = values.kinds?.split(",").map((k) => k.trim()) as FaultKind[] | undefined;
for (const k of kinds ?? []) {
  if (!FAULT_KINDS.includes(k)) {
    console.error(`soak: unknown fault kind '${k}' in --kinds; kinds are ${FAULT_KINDS.join(", ")}`);
    process.exit(2);
  }
}
if (kinds?.length === 0) {
  console.error("soak: --kinds needs at least one kind");
  process.exit(2);
}
if (iterations < 1) {
  console.error("soak: --iterations must be at least 1");
  process.exit(2);
}

const results: SoakResult[] = [];
for (const seed of seeds) {
  const result = await runSoak({ iterations, faults, seed, kinds, quick: values.quick, keep: values.keep, log: values.quiet ? undefined : (line) => console.log(line) });
  results.push(result);
  console.log("");
  console.log(renderFigures(result.figures));
  if (result.ok) console.log(`all invariants hold (seed ${seed})${result.kept ? `; world kept at ${result.kept}` : ""}`);
  else {
    console.log(`INVARIANTS VIOLATED (seed ${seed}): ${result.violations.length}`);
    for (const v of result.violations.slice(0, 40)) console.log(`  - ${v}`);
    if (result.violations.length > 40) console.log(`  … and ${result.violations.length - 40} more`);
    console.log(`world kept at ${result.kept}`);
    console.log(`reproduce: make soak ITERATIONS=${iterations} FAULTS=${faults} SEED=${seed}`);
  }
  console.log("");
}
if (values.json) writeFileSync(values.json, JSON.stringify(results.map((r) => ({ ok: r.ok, seed: r.seed, violations: r.violations, figures: r.figures, kept: r.kept })), null, 2) + "\n");
process.exit(results.every((r) => r.ok) ? 0 : 1);
