export {};
// Runs the whole bun:test suite and ends with the plain line "N passed, N failed".
// Two files at a time: most tests wait on git and on their agents' polls, so two workers take
// ~3 minutes instead of ~5 on two cores (each file still runs its tests in order).
// ORCH_TEST_PARALLEL=1 runs one file at a time.
const workers = process.env.ORCH_TEST_PARALLEL ?? "2";
// A test without its own timeout gets 20 s, not bun's 5: with two files at a time on two cores a
// property test or a long git history can pass 5 s on a loaded machine; a hang still fails.
const proc = Bun.spawn([process.execPath, "test", "--timeout=20000", ...(workers === "1" ? [] : [`--parallel=${workers}`]), ...process.argv.slice(2)], { stdout: "pipe", stderr: "pipe", env: { ...process.env, FORCE_COLOR: "0" } });
let tail = "";
async function pump(stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    sink.write(text);
    tail = (tail + text).slice(-20000);
  }
}
await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
const code = await proc.exited;
const last = (re: RegExp) => Number([...tail.matchAll(re)].at(-1)?.[1] ?? 0);
const passed = last(/^\s*(\d+) pass/gm);
const failed = last(/^\s*(\d+) fail/gm);
const failedFinal = code !== 0 && failed === 0 ? 1 : failed;
console.log(`${passed} passed, ${failedFinal} failed`);
process.exit(code !== 0 ? code : failedFinal > 0 ? 1 : 0);
