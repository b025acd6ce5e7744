/**
 * The digest's WebAssembly search (src/digest/scan-wasm.ts) against the
 * JavaScript one it stands in for (clean.ts nextControl): the same answer
 * for random bytes at every alignment and length; and the digest is the same
 * bytes with it and without it (ORCH_NO_WASM=1).
 */
import { describe, expect, test } from "bun:test";
import { nextControl } from "../src/digest/clean.ts";
import { scanner } from "../src/digest/scan-wasm.ts";
import { tempWorld } from "./helpers/world.ts";
import { writeLog } from "./fixtures/tail/helpers.ts";

describe("the WebAssembly scanner", () => {
  test("this runtime has it (Bun's JavaScriptCore supports WebAssembly SIMD)", () => {
    expect(scanner()).not.toBeNull();
  });

  test("finds the first byte that needs work exactly where the JavaScript scanner does", () => {
    const s = scanner()!;
    s.memory.grow(1);
    const bytes = Buffer.from(s.memory.buffer);
    const words = new Int32Array(s.memory.buffer);
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    // Text with LFs and tabs everywhere, and now and then a byte that needs work (any C0 control) or one above 0x7f.
    const pick = () => {
      const r = rand();
      if (r < 0.05) return 0x0a;
      if (r < 0.07) return 0x09;
      if (r < 0.071) return Math.floor(rand() * 0x20);
      if (r < 0.1) return 0x80 + Math.floor(rand() * 0x80);
      return 0x20 + Math.floor(rand() * 0x5f);
    };
    for (let round = 0; round < 400; round++) {
      const n = 1 + Math.floor(rand() * 3000);
      for (let k = 0; k < n + 64; k++) bytes[k] = pick();
      for (let probe = 0; probe < 20; probe++) {
        const i = Math.floor(rand() * n);
        const b = i + Math.floor(rand() * (n - i + 1));
        expect(s.scan(i, b)).toBe(nextControl(bytes, words, i, b));
      }
    }
  });

  test("the compiled binary's digest is the same bytes with it and without it (ORCH_NO_WASM=1)", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    const pieces = ["plain text of an agent's turn\n", "\x1b[1;32mok\x1b[0m\r\n", "tab\there ]]> done\n", "résumé ✨\n", "\x07bell\x00nul\n", "x".repeat(300) + "\n"];
    for (let i = 1; i <= 6; i++) {
      const parts: string[] = [];
      for (let k = 0; k < 4000; k++) parts.push(pieces[Math.floor(rand() * pieces.length)]!);
      for (const role of ["galph", "ralph"]) writeLog(c, { role, iteration: i, content: parts.join("") });
    }
    const withWasm = c.orch(["tail", "feature-x", "-n", "0", "--no-ls"]);
    const without = c.orch(["tail", "feature-x", "-n", "0", "--no-ls"], { env: { ORCH_NO_WASM: "1" } });
    expect(withWasm.code).toBe(0);
    expect(without.code).toBe(0);
    expect(withWasm.stdout.length).toBeGreaterThan(100_000);
    expect(withWasm.stdout).toBe(without.stdout);
  });
});
