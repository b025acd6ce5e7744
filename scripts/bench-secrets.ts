// Secrets benchmark (`make bench` runs it): times the content scan every
// auto-commit runs on the files it would commit (up to 20 MiB of reports and
// 100 MiB of tracked outputs per turn) and the redaction of shipped logs, on
// 20 MiB of random bytes, of base64 and of a stream-json-like log with a few
// planted secrets. Exit 1 when a target is missed.
//
// Usage: bun scripts/bench-secrets.ts [--mib N] [--runs N]
import { randomBytes } from "node:crypto";
import { makeRedactor, scanSecrets } from "../src/core/secrets.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const MIB = opt("mib", 20);
const RUNS = opt("runs", 3);
const BYTES = MIB * 1024 * 1024;
/** Per 20 MiB; scaled with --mib. */
const TARGETS = { scanMs: 1000, redactMs: 1500 };
const scale = MIB / 20;

const key = ["AKIA", "IOSFODNN7EXAMPLE"].join("");
const line = '{"type":"assistant","message":{"content":[{"type":"text","text":"ran 42 tests; token budget 1234; all passed"}]}}\n';
const lines = Array.from({ length: Math.ceil(BYTES / line.length) }, () => line);
const PLANTED = 5;
for (let n = 0; n < PLANTED; n++) lines[Math.floor((n * lines.length) / PLANTED)] = `{"text":"export AWS_ACCESS_KEY_ID=${key}"}\n`;
const inputs: [string, Uint8Array | string][] = [
  ["random bytes", randomBytes(BYTES)],
  ["base64", randomBytes(Math.floor((BYTES * 3) / 4)).toString("base64")],
  ["stream-json log", lines.join("")],
];

const best = (f: () => unknown) => {
  let min = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
};

let missed = false;
const report = (what: string, ms: number, target: number) => {
  const ok = ms <= target * scale;
  if (!ok) missed = true;
  console.log(`${what.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  ${((MIB / ms) * 1000).toFixed(0).padStart(5)} MiB/s  (target ≤ ${(target * scale).toFixed(0)} ms) ${ok ? "ok" : "MISSED"}`);
};

console.log(`${MIB} MiB per input, best of ${RUNS}`);
for (const [name, input] of inputs) report(`scanSecrets: ${name}`, best(() => scanSecrets(input)), TARGETS.scanMs);
const redactor = makeRedactor({ env: { ...process.env, MY_API_KEY: "bench-api-key-value-123" }, patterns: ["ACME-[0-9]{5}"] });
const log = inputs[2]![1] as string;
const r = redactor(log);
if (r.count !== PLANTED) {
  console.log(`redaction found ${r.count} secrets, expected ${PLANTED}`);
  missed = true;
}
report("redact: stream-json log", best(() => redactor(log)), TARGETS.redactMs);
process.exit(missed ? 1 : 0);
