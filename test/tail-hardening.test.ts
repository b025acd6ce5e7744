// `orch tail` on log directories an agent may have filled with anything (SPEC §9 "From 0.2"): only regular files
// are read, no symlink leads out of the log directory, and each log is capped at tail.max_log_bytes.
import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeWorld, ORCH_BIN, sh, type Clone } from "./helpers/world.ts";
import { digest, readDigest, writeLog, XMLLINT, xmllint } from "./fixtures/tail/helpers.ts";

/**
 * The binary, with its output bounded: 0.1 never ended on /dev/zero (and wrote gigabytes), so a run that goes past
 * `limit` bytes or `timeoutMs` is stopped and reported instead of filling memory or hanging the suite.
 */
async function boundedTail(clone: Clone, args: string[], limit = 64 << 20, timeoutMs = 20_000) {
  const proc = Bun.spawn([ORCH_BIN, "tail", ...args], { cwd: clone.dir, env: clone.world.env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let unbounded = false;
  for await (const chunk of proc.stdout) {
    size += chunk.length;
    if (size > limit) {
      unbounded = true;
      proc.kill("SIGKILL");
      break;
    }
    chunks.push(chunk);
  }
  const code = await proc.exited;
  clearTimeout(timer);
  const bytes = Buffer.concat(chunks);
  return { code, unbounded, killed: proc.signalCode !== null, bytes, stdout: bytes.toString("utf8"), stderr: await new Response(proc.stderr).text() };
}

const logPath = (c: Clone, role: string, iteration: number, suffix = "") => join(c.dir, "logs/feature-x", role, `iter-${String(iteration).padStart(5, "0")}_20260101_000000${suffix}.log`);

describe("only regular files inside the log directory are read", () => {
  const { clones } = makeWorld();
  const c = clones[0]!;
  writeLog(c, { role: "galph", iteration: 1, content: "galph 1\n" });
  writeLog(c, { role: "ralph", iteration: 1, content: "ralph 1\n" });
  c.write("outside/secret.txt", "TOP SECRET outside the log directory\n");
  c.write("logs/feature-x/shared/real.log", "a log elsewhere in the log directory\n");
  sh(["mkfifo", join(c.dir, "outside/fifo")], { cwd: c.dir, env: c.world.env });
  sh(["mkfifo", join(c.dir, "logs/feature-x/shared/fifo")], { cwd: c.dir, env: c.world.env });
  symlinkSync("/dev/zero", logPath(c, "galph", 2));
  symlinkSync(join(c.dir, "outside/fifo"), logPath(c, "ralph", 2));
  symlinkSync(join(c.dir, "outside/secret.txt"), logPath(c, "galph", 3));
  symlinkSync("../shared/real.log", logPath(c, "ralph", 3));
  symlinkSync(join(c.dir, "logs/feature-x/shared/fifo"), logPath(c, "galph", 4));
  sh(["mkfifo", logPath(c, "ralph", 4)], { cwd: c.dir, env: c.world.env });
  mkdirSync(logPath(c, "galph", 5));
  writeLog(c, { role: "ralph", iteration: 5, stamp: "20260101_000000", content: "ralph 5, older name\n" });
  mkdirSync(logPath(c, "ralph", 5, "_newer")); // a directory with a newer name does not hide the log

  test("a /dev/zero or FIFO symlink, a symlink out of the log directory: reported in place, the digest ends", async () => {
    const r = await boundedTail(c, ["feature-x", "-n", "0"]);
    expect({ unbounded: r.unbounded, killed: r.killed, code: r.code, stderr: r.stderr }).toEqual({ unbounded: false, killed: false, code: 0, stderr: "" });
    if (XMLLINT) expect(xmllint(r.bytes)).toEqual({ ok: true, errors: "" });
    const logs = readDigest(r.stdout).logs;
    const text = (role: string, iter: number) => logs.find((l) => l.role === role && l.iter === iter)!.text;
    const outside = (role: string, iter: number) => `<${logPath(c, role, iter)}: it leads outside the log directory; not read>\n`;
    expect(logs.map((l) => `${l.role}${l.iter}`)).toEqual(["galph1", "ralph1", "galph2", "ralph2", "galph3", "ralph3", "galph4", "ralph4", "galph5", "ralph5"]);
    expect(text("galph", 2)).toBe(outside("galph", 2));
    expect(text("ralph", 2)).toBe(outside("ralph", 2));
    expect(text("galph", 3)).toBe(outside("galph", 3));
    expect(r.stdout).not.toContain("TOP SECRET");
    expect(text("ralph", 3)).toBe("a log elsewhere in the log directory\n");
    expect(text("galph", 4)).toBe(`<${logPath(c, "galph", 4)}: not a regular file (a FIFO); not read>\n`);
    expect(text("ralph", 4)).toBe(`<${logPath(c, "ralph", 4)}: not a regular file (a FIFO); not read>\n`);
    expect(text("galph", 5)).toBe(`<${logPath(c, "galph", 5)}: not a regular file (a directory); not read>\n`);
    expect(text("ralph", 5)).toBe("ralph 5, older name\n");
  });

  test("a role directory that is a symlink out of the log directory is not read either", async () => {
    const { clones } = makeWorld();
    const d = clones[0]!;
    d.write("elsewhere/iter-00001_20260101_000000.log", "not ours\n");
    mkdirSync(join(d.dir, "logs/feature-x"), { recursive: true });
    symlinkSync(join(d.dir, "elsewhere"), join(d.dir, "logs/feature-x/galph"));
    const { logs } = readDigest((await digest(d)).text);
    expect(logs.map((l) => [l.role, l.iter, l.text])).toEqual([["galph", 1, `<${join(d.dir, "logs/feature-x/galph/iter-00001_20260101_000000.log")}: it leads outside the log directory; not read>\n`]]);
  });
});

describe("tail.max_log_bytes", () => {
  const { clones } = makeWorld();
  const c = clones[0]!;
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, "0")} of the log\n`); // 21 bytes each
  const numbered = lines.join("");
  writeLog(c, { role: "galph", iteration: 1, content: numbered });

  test("a sparse 1 GiB log: its head and tail, truncated= on the <log>, a marker line where the middle was", async () => {
    const file = logPath(c, "ralph", 1);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "");
    expect(sh(["truncate", "-s", "1G", file], { cwd: c.dir, env: c.world.env }).code).toBe(0);
    const r = await boundedTail(c, ["feature-x", "--no-ls"]);
    expect({ unbounded: r.unbounded, killed: r.killed, code: r.code }).toEqual({ unbounded: false, killed: false, code: 0 });
    expect(r.bytes.length).toBeLessThan(30 << 20); // 8 MiB of NUL, each shown as U+FFFD (3 bytes)
    const log = /<log role="ralph"[^>]*>/.exec(r.stdout)![0];
    expect(log).toContain(` truncated="${2 ** 30 - 8 * 2 ** 20}">`);
    const text = readDigest(r.stdout).logs.find((l) => l.role === "ralph")!.text;
    const marker = `\n<orch: ${2 ** 30 - 8 * 2 ** 20} of ${2 ** 30} bytes left out here; logs are capped at tail.max_log_bytes = ${8 * 2 ** 20}>\n`;
    expect(text).toBe("\ufffd".repeat(4 * 2 ** 20) + marker + "\ufffd".repeat(4 * 2 ** 20) + "\n");
  });

  test("the cut falls after a newline: whole lines from the head and from the tail", async () => {
    const out = await digest(c, { maxLogBytes: 2000, roles: ["galph"], ls: false });
    const [log] = readDigest(out.text).logs;
    const [head, tail] = log!.text.split(/<orch: \d+ of \d+ bytes left out here; logs are capped at tail.max_log_bytes = 2000>\n/);
    // 1000 bytes each side, moved back (head) or on (tail) to a line boundary: the whole lines in 1000 bytes.
    const whole = Math.floor(1000 / lines[0]!.length);
    expect(head).toBe(lines.slice(0, whole).join(""));
    expect(tail).toBe(lines.slice(-whole).join(""));
    const left = numbered.length - head!.length - tail!.length;
    expect(out.text).toContain(`iter="1" path="logs/feature-x/galph/iter-00001_20260101_000000.log" source="log" format="text" truncated="${left}">`);
  });

  test("without newlines near the cut, characters are not broken", async () => {
    const { clones } = makeWorld();
    const d = clones[0]!;
    writeLog(d, { role: "galph", iteration: 1, content: "\u65e5\u672c\u8a9e".repeat(5000) });
    const [log] = readDigest((await digest(d, { maxLogBytes: 1001 })).text).logs;
    expect(log!.text).not.toContain("\ufffd");
    expect(log!.text).toMatch(/^(\u65e5\u672c\u8a9e|\u672c\u8a9e|\u8a9e)?[\u65e5\u672c\u8a9e]+\n<orch: \d+ of 45000 bytes left out here; logs are capped at tail.max_log_bytes = 1001>\n[\u65e5\u672c\u8a9e]+\n$/);
  });

  test("--max-log-bytes 0 is no cap; the setting comes from flags, the environment and orch.toml", () => {
    const whole = c.orch(["tail", "feature-x", "--roles", "galph", "--max-log-bytes", "0"]);
    expect(whole.code).toBe(0);
    expect(readDigest(whole.stdout).logs[0]!.text).toBe(numbered);
    const env = c.orch(["tail", "feature-x", "--roles", "galph"], { env: { ORCH_TAIL_MAX_LOG_BYTES: "2000" } });
    expect(env.stdout).toMatch(/ truncated="\d+">/);
    c.write("orch.toml", "[tail]\nmax_log_bytes = 2000\n");
    expect(c.orch(["tail", "feature-x", "--roles", "galph"]).stdout).toMatch(/ truncated="\d+">/);
    expect(c.orch(["tail", "feature-x", "--roles", "galph", "--max-log-bytes", "30000"]).stdout).not.toContain("truncated=");
    expect(c.orch(["tail", "feature-x", "--max-log-bytes", "-1"])).toMatchObject({ code: 2, stdout: "" });
  });
});
