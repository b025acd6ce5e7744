import { killGroup, spawnProcess } from "../core/proc.ts";
import { errorMessage } from "../core/errors.ts";
import { FORMATS } from "./formats/index.ts";
import type { NotifySettings } from "./config.ts";
import type { NotifyEvent } from "./events.ts";

/** The result of one delivery attempt on one channel. */
export interface Outcome {
  channel: "command" | "webhook";
  /** What was tried, safe to print and log: argv[0] (+ " …"), or the URL's origin (+ "/…"). */
  target: string;
  ok: boolean;
  /** "exit 0", "HTTP 200"; or why not: "exit 3: <stderr>", "killed after 10s", "HTTP 500", "no answer within 10s". */
  detail: string;
  ms: number;
}

export interface DeliverOptions {
  timeoutMs: number;
  /** Aborting kills a running hook's process group and abandons a request (the runner is exiting). */
  signal?: AbortSignal;
  /** Environment the hook inherits (default: this process's). */
  env?: Record<string, string | undefined>;
}

/** Send one event through every configured channel, concurrently; never throws. */
export async function deliver(event: NotifyEvent, settings: NotifySettings, opts: Omit<DeliverOptions, "timeoutMs">): Promise<Outcome[]> {
  const work: Promise<Outcome>[] = [];
  const o = { ...opts, timeoutMs: settings.timeoutMs };
  if (settings.command.length > 0) work.push(runHook(settings.command, event, o));
  if (settings.webhookUrl) work.push(postWebhook(settings.webhookUrl, settings.webhookFormat, event, o));
  return Promise.all(work);
}

/** The hook's environment: SPEC §15's ORCH_* names; absent values are empty strings. */
export function hookEnv(e: NotifyEvent): Record<string, string> {
  return {
    ORCH_EVENT: e.event,
    ORCH_ACTOR: e.actor,
    ORCH_ITERATION: e.iteration === null ? "" : String(e.iteration),
    ORCH_HOST: e.host,
    ORCH_BRANCH: e.branch,
    ORCH_MESSAGE: e.message,
    ORCH_BLOCKED_UNTIL: e.blocked_until ?? "",
    ORCH_LOG: e.log ?? "",
  };
}

/**
 * Run the command hook without a shell, the event as JSON on stdin. It runs in its own process
 * group so that on timeout (or abort) the whole group is killed, including anything it started;
 * its stdout is discarded (it would interleave with the runner's output), the end of its stderr
 * explains a failure.
 */
export async function runHook(argv: string[], event: NotifyEvent, opts: DeliverOptions): Promise<Outcome> {
  const started = Date.now();
  const target = argv[0]! + (argv.length > 1 ? " …" : "");
  const done = (ok: boolean, detail: string): Outcome => ({ channel: "command", target, ok, detail, ms: Date.now() - started });
  if (opts.signal?.aborted) return done(false, "not started: orch is exiting");
  let proc;
  try {
    proc = spawnProcess(argv, {
      env: { ...(opts.env ?? process.env), ...hookEnv(event) } as Record<string, string>,
      detached: true,
      stdin: new Blob([JSON.stringify(event) + "\n"]),
      stdout: "ignore",
      stderr: "pipe",
    });
  } catch (e) {
    return done(false, errorMessage(e));
  }
  let killedBy: string | null = null;
  const kill = (why: string) => {
    if (killedBy || proc.exitCode !== null || proc.signalCode !== null) return;
    killedBy = why;
    killGroup(proc.pid, "SIGKILL");
  };
  const timer = setTimeout(() => kill(`killed after ${seconds(opts.timeoutMs)}`), opts.timeoutMs);
  const onAbort = () => kill("killed: orch is exiting");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const stderr = tail(proc.stderr as ReadableStream<Uint8Array>);
  const code = await proc.exited;
  clearTimeout(timer);
  opts.signal?.removeEventListener("abort", onAbort);
  // Something the hook left running in the background may hold stderr open: do not wait for it.
  const err = await stderr.within(200);
  if (killedBy) return done(false, killedBy);
  if (proc.signalCode) return done(false, `killed by ${proc.signalCode}${err ? ": " + err : ""}`);
  return code === 0 ? done(true, "exit 0") : done(false, `exit ${code}${err ? ": " + err : ""}`);
}

/** POST the event in the chosen format; any 2xx answer is success. */
export async function postWebhook(url: string, formatName: string, event: NotifyEvent, opts: DeliverOptions): Promise<Outcome> {
  const started = Date.now();
  const target = safeUrl(url);
  const done = (ok: boolean, detail: string): Outcome => ({ channel: "webhook", target, ok, detail, ms: Date.now() - started });
  const format = FORMATS[formatName];
  if (!format) return done(false, `unknown webhook_format '${formatName}'`);
  if (opts.signal?.aborted) return done(false, "not sent: orch is exiting");
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    const req = format(event, url);
    const res = await fetch(req.url, {
      method: "POST",
      headers: { "Content-Type": req.contentType, "User-Agent": "orch", ...req.headers },
      body: req.body,
      signal,
    });
    // Read the answer (also within the time limit) so the connection is released; keep its start.
    const answer = oneLineOf(await res.text());
    if (res.ok) return done(true, `HTTP ${res.status}`);
    return done(false, `HTTP ${res.status}${answer ? ": " + answer : ""}`);
  } catch (e) {
    if (timeout.aborted) return done(false, `no answer within ${seconds(opts.timeoutMs)}`);
    if (opts.signal?.aborted) return done(false, "abandoned: orch is exiting");
    return done(false, oneLineOf(errorMessage(e)) || "request failed");
  }
}

/** The URL as it may be printed: the origin only, since the path or query often is the secret (a topic, a token). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.origin + (u.pathname.length > 1 || u.search ? "/…" : "");
  } catch {
    return "(invalid URL)";
  }
}

/** "✓ command notify-send … (exit 0, 0.1s)" / "✗ webhook https://ntfy.sh/…: HTTP 500 (0.2s)". */
export function describeOutcome(o: Outcome): string {
  const secs = `${(o.ms / 1000).toFixed(1)}s`;
  return o.ok ? `✓ ${o.channel} ${o.target} (${o.detail}, ${secs})` : `✗ ${o.channel} ${o.target}: ${o.detail} (${secs})`;
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))}s`;

function oneLineOf(text: string, max = 200): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}

/** Read a stream, keeping its last few KiB; within(ms) gives up waiting after ms, keeping what came. */
function tail(stream: ReadableStream<Uint8Array>, keep = 4096) {
  const reader = stream.getReader();
  let buf = Buffer.alloc(0);
  const finished = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf = Buffer.concat([buf, value]);
        if (buf.length > keep) buf = buf.subarray(buf.length - keep);
      }
    } catch {
      // cancelled
    }
  })();
  return {
    async within(ms: number): Promise<string> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([finished, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
      void reader.cancel().catch(() => {});
      const lines = buf.toString("utf8").split("\n").map((l) => l.trim()).filter(Boolean);
      return oneLineOf(lines.at(-1) ?? "");
    },
  };
}
