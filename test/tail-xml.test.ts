import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { makeWorld } from "./helpers/world.ts";
import { digest, readDigest, stamp, writeLog, XMLLINT, xmllint, ARROW, rng, nastyBytes } from "./fixtures/tail/helpers.ts";
import { sanitizeText } from "../src/digest/sanitize.ts";
import { latin1ToText, referenceSanitizeUtf8 as sanitizeUtf8 } from "./helpers/digest-reference/index.ts";

const decode = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(b);
const withNewline = (s: string) => (s.endsWith("\n") ? s : s + "\n");

describe("any bytes in, well-formed XML 1.0 out", () => {
  const { clones } = makeWorld();
  const c = clones[0]!;
  // Stamps and tracked names that need escaping or splitting in attributes and <ls>.
  const odd = `g&<>"' \x1b[31mred\x1b[0m \t tab \u00e9`;
  stamp(c, `[SYNC i=1] actor=galph ${ARROW} next=ralph status=ok galph_commit=abc ${odd}`, { "docs/]]>.md": "x\n", "docs/a&b <c>.md": "y\n", "docs/\u65e5\u672c.md": "z\n" });
  stamp(c, `[SYNC i=2] actor=ralph ${ARROW} next=galph status=ok ralph_commit=def`);
  if (!XMLLINT) test.skip("xmllint is not installed (apt-get install libxml2-utils); the built-in checker still runs", () => {});

  test("property: random bytes through tail parse back to exactly the sanitised text", async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = rng(seed * 104729);
      rmSync(join(c.dir, "logs"), { recursive: true, force: true });
      const contents = new Map<string, Buffer>();
      for (const [role, iteration] of [["galph", 1], ["ralph", 1], ["galph", 2], ["ralph", 3]] as const) {
        let bytes = nastyBytes(random, Math.floor(random() * 30_000));
        if (seed % 10 === 0 && role === "galph") bytes = Buffer.concat([bytes, Buffer.from(nastyBytes(random, 200_000).filter((b) => b !== 0x0a))]); // one line longer than a read
        const suffix = seed % 3 === 0 ? `_a&b<"'>\u00e9` : "";
        contents.set(`${role}${iteration}`, bytes);
        writeLog(c, { role, iteration, content: bytes, suffix });
      }
      const out = await digest(c, { count: 0 });
      if (XMLLINT) expect({ seed, lint: xmllint(out.bytes) }).toEqual({ seed, lint: { ok: true, errors: "" } });
      const { logs } = readDigest(out.text);
      expect(logs.map((l) => `${l.role}${l.iter}`)).toEqual(["galph1", "ralph1", "galph2", "ralph3"]);
      for (const log of logs) {
        const bytes = contents.get(`${log.role}${log.iter}`)!;
        const expected = withNewline(latin1ToText(sanitizeUtf8(bytes)));
        expect({ seed, log: log.role + log.iter, same: log.text === expected }).toEqual({ seed, log: log.role + log.iter, same: true });
        expect(log.text).toBe(withNewline(sanitizeText(decode(bytes))));
      }
      expect(logs[0]!.subject).toBe(sanitizeText(`[SYNC i=1] actor=galph ${ARROW} next=ralph status=ok galph_commit=abc ${odd}`));
      expect(logs[0]!.ls[0]!.files).toEqual(["docs/]]>.md", "docs/a&b <c>.md", "docs/\u65e5\u672c.md"]);
      if (seed % 3 === 0) expect(logs[0]!.path).toBe(`logs/feature-x/galph/iter-00001_20260101_000000_a&b<"'>\u00e9.log`);
    }
  });
});
