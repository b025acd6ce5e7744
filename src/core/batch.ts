/**
 * One long-lived `git cat-file --batch` for a runner's reads. A runner reads
 * the remote's state, heartbeats, control document and shipped logs after
 * every look that saw a move; one process per read would be a third of its
 * git processes. cat-file answers each request as it comes (it flushes after
 * every object), finds objects written after it started (it rescans packs on
 * a miss; loose objects and refs are read from disk each time), and ends by
 * itself when orch dies (its stdin closes).
 */
import type { Subprocess } from "bun";
import { trace, TRACE } from "./proc.ts";

export interface CatObject {
  sha: string;
  type: string;
  body: Buffer;
}

export class BatchTimeout extends Error {}

/** A kept git process answering one request at a time; closed by ending its stdin (killed if it does not end). */
abstract class KeptProcess {
  protected proc: Subprocess<"pipe", "pipe", "ignore"> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly graceMs: number) {}

  /** Requests are answered in order: one at a time. */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * Send `input`, then wait for `read` (at most timeoutMs). A process that
   * fails or is slow to answer is out of step: killed, and the next request
   * starts a fresh one.
   */
  protected async exchange<T>(input: Uint8Array | string, read: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
    const proc = this.proc!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BatchTimeout(`${what} did not answer in time`)), timeoutMs);
    });
    const t0 = TRACE ? performance.now() : 0;
    try {
      proc.stdin.write(input);
      proc.stdin.flush();
      const answer = await Promise.race([read(), timeout]);
      if (TRACE) trace(t0, `${what} (kept)`);
      return answer;
    } catch (e) {
      this.discard();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Out of step: kill it; the next request starts a fresh one. */
  protected discard(): void {
    this.proc?.kill("SIGKILL");
    this.proc = null;
  }

  close(): void {
    const proc = this.proc;
    this.proc = null;
    if (!proc) return;
    try {
      proc.stdin.end(); // at EOF it finishes what it has and exits
    } catch {
      // already gone
    }
    // A stuck one is killed rather than waited on.
    setTimeout(() => proc.exitCode === null && proc.kill("SIGKILL"), this.graceMs).unref();
  }
}

export class CatFileBatch extends KeptProcess {
  private buf = Buffer.alloc(0);
  /** Chunks read but not yet joined to buf (joined once enough arrived: no quadratic copying of a big blob). */
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes the waiting reader needs in all (-1: a newline). */
  private need = 0;
  private ended = false;
  /** Wakes the reader waiting for more bytes. */
  private more: (() => void) | null = null;
  constructor(
    private readonly spawn: () => Subprocess<"pipe", "pipe", "ignore">,
    private readonly timeoutMs: number,
  ) {
    super(2000);
  }

  /** Each rev (`<sha>`, `<ref>^{commit}`, `<rev>:<path>`) as its object, or null when absent. */
  ask(revs: string[]): Promise<(CatObject | null)[]> {
    return this.serial(() => this.answer(revs));
  }

  private start(): void {
    this.buf = Buffer.alloc(0);
    this.pending = [];
    this.pendingLen = 0;
    this.ended = false;
    const proc = this.spawn();
    this.proc = proc;
    void (async () => {
      const reader = proc.stdout.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (this.proc !== proc) continue;
          this.pending.push(Buffer.from(value));
          this.pendingLen += value.length;
          if (this.need < 0 ? value.includes(10) : this.buf.length + this.pendingLen >= this.need) this.more?.();
        }
      } catch {
        // killed
      }
      if (this.proc === proc) this.ended = true;
      this.more?.();
    })();
  }

  private async answer(revs: string[]): Promise<(CatObject | null)[]> {
    if (revs.length === 0) return [];
    // A name with a newline cannot be asked for on a line: it is absent.
    const asked = revs.filter((r) => !r.includes("\n"));
    if (!this.proc || this.ended) this.start();
    const got = await this.exchange(asked.map((r) => r + "\n").join(""), () => this.readAll(asked.length), this.timeoutMs, TRACE ? `git cat-file --batch ${asked.join(" ").slice(0, 200)}` : "git cat-file --batch");
    let at = 0;
    return revs.map((r) => (r.includes("\n") ? null : got[at++]!));
  }

  private async readAll(n: number): Promise<(CatObject | null)[]> {
    const out: (CatObject | null)[] = [];
    for (let i = 0; i < n; i++) {
      const header = (await this.take(-1)).toString("utf8");
      // "<sha> <type> <size>", or "<rev> missing" / "<rev> ambiguous".
      const m = /^([0-9a-f]{40,64}) (\S+) (\d+)$/.exec(header);
      if (!m) {
        out.push(null);
        continue;
      }
      const body = await this.take(Number(m[3]) + 1); // the content and its closing newline
      out.push({ sha: m[1]!, type: m[2]!, body: body.subarray(0, body.length - 1) });
    }
    return out;
  }

  /** The next line (n < 0, without its newline) or the next n bytes. */
  private async take(n: number): Promise<Buffer> {
    for (;;) {
      if (this.pending.length) {
        this.buf = Buffer.concat([this.buf, ...this.pending]);
        this.pending = [];
        this.pendingLen = 0;
      }
      const end = n < 0 ? this.buf.indexOf(10) : this.buf.length >= n ? n : -1;
      if (end >= 0) {
        const chunk = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(n < 0 ? end + 1 : end);
        return Buffer.from(chunk);
      }
      if (this.ended) throw new Error("git cat-file --batch ended unexpectedly");
      this.need = n;
      await new Promise<void>((resolve) => (this.more = resolve));
      this.more = null;
    }
  }
}

/**
 * One long-lived `git fast-import` for a runner's commits (state commits,
 * heartbeats, shipped logs: two batches a turn). Each batch ends with
 * `checkpoint` (the objects land in the repository, visible to the merge and
 * the push that follow) and `get-mark` for each commit (their shas, in
 * order). fast-import remembers what it wrote (and skips writing an object
 * again); it is started afresh once a day, so that memory never outlives
 * what gc keeps (unreachable objects go after two weeks).
 */
export class FastImportBatch extends KeptProcess {
  private lines: string[] = [];
  private partial = "";
  private ended = false;
  private more: (() => void) | null = null;
  private nextMark = 1;
  private startedAt = 0;

  constructor(
    private readonly spawn: () => Subprocess<"pipe", "pipe", "ignore">,
    private readonly timeoutMs: number,
    private readonly maxAgeMs = 24 * 3600_000,
  ) {
    super(5000);
  }

  /** Run `build(firstMark)` (commit commands using marks firstMark… firstMark+count-1); returns the commits' shas. */
  write(count: number, build: (firstMark: number) => Buffer): Promise<string[]> {
    return this.serial(() => this.batch(count, build));
  }

  private start(): void {
    this.lines = [];
    this.partial = "";
    this.ended = false;
    this.nextMark = 1;
    this.startedAt = Date.now();
    const proc = this.spawn();
    this.proc = proc;
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of proc.stdout) {
          if (this.proc !== proc) break;
          const text = this.partial + decoder.decode(chunk, { stream: true });
          const parts = text.split("\n");
          this.partial = parts.pop()!;
          this.lines.push(...parts);
          this.more?.();
        }
      } catch {
        // killed
      }
      if (this.proc === proc) this.ended = true;
      this.more?.();
    })();
  }

  private async batch(count: number, build: (firstMark: number) => Buffer): Promise<string[]> {
    if (this.proc && Date.now() - this.startedAt > this.maxAgeMs) this.close();
    if (!this.proc || this.ended) this.start();
    const first = this.nextMark;
    this.nextMark += count;
    const marks = Array.from({ length: count }, (_, i) => `get-mark :${first + i}\n`).join("");
    const input = new Uint8Array(Buffer.concat([build(first), Buffer.from(`checkpoint\n${marks}`)]));
    const shas = await this.exchange(input, () => this.readLines(count), this.timeoutMs, "git fast-import");
    if (!shas.every((s) => /^[0-9a-f]{40,64}$/.test(s))) {
      this.discard();
      throw new Error(`git fast-import answered ${JSON.stringify(shas[0])}`);
    }
    return shas;
  }

  private async readLines(n: number): Promise<string[]> {
    while (this.lines.length < n) {
      if (this.ended) throw new Error("git fast-import ended unexpectedly");
      await new Promise<void>((resolve) => (this.more = resolve));
      this.more = null;
    }
    return this.lines.splice(0, n);
  }
}
