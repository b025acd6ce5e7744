/**
 * The digest's one hot search, 32 bytes at a time: where in [i, b) is the
 * first byte that needs work in valid text (a C0 control other than tab and
 * LF)? The JavaScript scanner (clean.ts nextControl) tests 4 bytes per step
 * and stops at every line's LF; WebAssembly's 128-bit lanes test 16 bytes
 * per load, two loads a step, and pass LFs by (~11 GB/s here, where the
 * JavaScript one did ~2.5 and a one-load loop ~4.4). The module is a few
 * dozen instructions, assembled here from their encodings (the WebAssembly
 * binary format and its SIMD opcodes, named beside each one) so the build
 * needs no tool; where the runtime lacks WebAssembly SIMD, `scanner()`
 * answers null and the JavaScript scanner runs.
 *
 * The text to scan lives in the module's own memory (the digest's read
 * buffer is allocated there: no copy), exported as `mem`.
 */

/** An unsigned LEB128 number. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const name = (s: string) => [...leb(s.length), ...Buffer.from(s, "latin1")];
const splat = (byte: number) => [0xfd, 0x0c, ...new Array(16).fill(byte)]; // v128.const with 16 equal lanes

/** The lanes of `v` (local 3, just loaded) that need work: below 0x20, and not LF, and not tab (v128 on the stack). */
const work = [
  0x22, 0x03, //                local.tee v
  ...splat(0x20), 0xfd, 0x26, // i8x16.lt_u: lanes below 0x20
  0x20, 0x03, ...splat(0x0a), 0xfd, 0x24, 0xfd, 0x4e, // and not LF (i8x16.ne, v128.and)
  0x20, 0x03, ...splat(0x09), 0xfd, 0x24, 0xfd, 0x4e, // and not tab
];

// Locals: 0 = i, 1 = b (the parameters), 2 = m (i32), 3 = v, 4 = w1, 5 = w2 (v128).
const body = [
  0x02, 0x40, //            block (the 32-byte loop ends here)
  0x03, 0x40, //              loop
  0x20, 0x00, 0x41, 0x20, 0x6a, //  i + 32
  0x20, 0x01, 0x4b, 0x0d, 0x01, //  > b: out of the block
  0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, ...work, 0x21, 0x04, // w1 = work(v128.load [i])
  0x20, 0x00, 0xfd, 0x00, 0x00, 0x10, ...work, 0x21, 0x05, // w2 = work(v128.load [i + 16])
  0x20, 0x04, 0x20, 0x05, 0xfd, 0x50, 0xfd, 0x53, // v128.any_true(w1 | w2)
  0x04, 0x40, //                if a lane needs work
  0x20, 0x04, 0xfd, 0x64, 0x20, 0x05, 0xfd, 0x64, 0x41, 0x10, 0x74, 0x72, // bitmask(w1) | bitmask(w2) << 16
  0x68, 0x20, 0x00, 0x6a, 0x0f, // return i + ctz
  0x0b, //                      end
  0x20, 0x00, 0x41, 0x20, 0x6a, 0x21, 0x00, // i += 32
  0x0c, 0x00, 0x0b, 0x0b, //    br to the loop; end loop, end block
  0x02, 0x40, //            block (the 16-byte loop ends here)
  0x03, 0x40, //              loop
  0x20, 0x00, 0x41, 0x10, 0x6a, //  i + 16
  0x20, 0x01, 0x4b, //                > b ?
  0x0d, 0x01, //                br_if out of the block: fewer than 16 bytes left
  0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, // v128.load [i]
  0x22, 0x03, //                local.tee v
  ...splat(0x20), 0xfd, 0x26, // i8x16.lt_u: lanes below 0x20
  0x20, 0x03, ...splat(0x0a), 0xfd, 0x24, 0xfd, 0x4e, // and not LF (i8x16.ne, v128.and)
  0x20, 0x03, ...splat(0x09), 0xfd, 0x24, 0xfd, 0x4e, // and not tab
  0xfd, 0x64, //                i8x16.bitmask: one bit per lane
  0x22, 0x02, //                local.tee m
  0x04, 0x40, //                if a lane needs work
  0x20, 0x00, 0x20, 0x02, 0x68, 0x6a, 0x0f, // return i + ctz(m)
  0x0b, //                      end
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // i += 16
  0x0c, 0x00, //                br to the loop
  0x0b, 0x0b, //              end loop, end block
  0x02, 0x40, 0x03, 0x40, //  block, loop: the last bytes one at a time
  0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, // i >= b: out
  0x20, 0x00, 0x2d, 0x00, 0x00, 0x22, 0x02, // m = load8_u [i]
  0x41, 0x20, 0x49, //          m < 0x20
  0x20, 0x02, 0x41, 0x0a, 0x47, 0x71, // and m != LF
  0x20, 0x02, 0x41, 0x09, 0x47, 0x71, // and m != tab
  0x04, 0x40, 0x20, 0x00, 0x0f, 0x0b, // if: return i
  0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00, // i += 1
  0x0c, 0x00, 0x0b, 0x0b, //  br to the loop; end loop, end block
  0x20, 0x01, //              b: nothing needs work
  0x0b, //                    end of the function
];
const code = [0x02, 0x01, 0x7f, 0x03, 0x7b, ...body]; // two local groups: one i32, three v128

const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]), // one type: (i32, i32) -> i32
  ...section(3, [0x01, 0x00]), // one function, of that type
  ...section(5, [0x01, 0x00, 0x01]), // one memory, 1 page to start
  ...section(7, [0x02, ...name("scan"), 0x00, 0x00, ...name("mem"), 0x02, 0x00]), // exports
  ...section(10, [0x01, ...leb(code.length), ...code]),
]);

export interface Scanner {
  memory: WebAssembly.Memory;
  /** The first byte in [i, b) of `memory` that needs work, or b. */
  scan: (i: number, b: number) => number;
}

let compiled: WebAssembly.Module | null | undefined;

/** A scanner with its own memory, or null where WebAssembly (with SIMD) is not available (ORCH_NO_WASM=1 forces that). */
export function scanner(): Scanner | null {
  if (compiled === undefined) {
    try {
      compiled = process.env.ORCH_NO_WASM === "1" || !WebAssembly.validate(MODULE) ? null : new WebAssembly.Module(MODULE);
    } catch {
      compiled = null;
    }
  }
  if (!compiled) return null;
  const exports = new WebAssembly.Instance(compiled).exports as unknown as { scan: Scanner["scan"]; mem: WebAssembly.Memory };
  return { memory: exports.mem, scan: exports.scan };
}
