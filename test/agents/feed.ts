/** Feeds captured CLI output through an adapter's parser, line by line, as the engine will. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { adapterFor } from "../../src/agents/index.ts";
import type { AgentKind, ParserContext, TurnEnd, TurnFacts } from "../../src/agents/types.ts";

export const FIXTURES = resolve(import.meta.dir, "../fixtures/agent-cli");
/** The fixtures were captured on 2026-12-01 around 07:00 UTC on a machine in UTC. */
export const CAPTURED = new Date("2026-12-01T07:10:00Z");

export interface Fixture {
  name: string;
  kind: AgentKind;
  stdout: string[];
  stderr: string[];
  code: number;
  argv: string[];
  /** The prompt, as codex text mode echoed it after `user`. */
  prompt: string | null;
  rawBytes: number;
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l, i, all) => i < all.length - 1 || l !== "") : []);

export function fixtureNames(): string[] {
  return [...new Set(readdirSync(FIXTURES).filter((f) => /\.(stdout|jsonl)$/.test(f)).map((f) => f.replace(/\.(stdout|jsonl)$/, "")))].sort();
}

export function loadFixture(name: string): Fixture {
  const base = join(FIXTURES, name);
  const jsonl = existsSync(base + ".jsonl");
  const meta = existsSync(base + ".meta") ? readFileSync(base + ".meta", "utf8") : "";
  const argvText = /^argv:\s*(.*)$/m.exec(meta)?.[1] ?? "";
  // The meta argv is a shell line with env assignments and -c key="value" pairs; words suffice here.
  const argv = argvText.split(/\s+/).filter((w) => w && !/^[A-Z_]+=/.test(w));
  const stdout = lines(jsonl ? base + ".jsonl" : base + ".stdout");
  const stderr = lines(base + ".stderr");
  const userAt = stderr.indexOf("user");
  const prompt = userAt >= 0 ? stderr[userAt + 1] ?? null : null;
  const kind: AgentKind = name.startsWith("claude") ? "claude" : "codex";
  const defaults: Record<string, string[]> = { claude: ["claude", "-p", "--verbose", "--output-format", "stream-json"], codex: ["codex", "exec", "--json"] };
  const rawBytes = [stdout, stderr].flat().reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  return { name, kind, stdout, stderr, code: Number(/^rc:\s*(\d+)/m.exec(meta)?.[1] ?? 0), argv: argv.length ? argv : defaults[kind]!, prompt, rawBytes };
}

export interface Fed {
  end: TurnEnd;
  facts: TurnFacts;
  lines: string[];
  transcript: string;
}

/**
 * stderr first, then stdout (the capture kept the streams apart); one second per line so
 * wall times are visible. A captured rc of 124 is orch's own timeout kill.
 */
export function feed(f: Pick<Fixture, "kind" | "stdout" | "stderr" | "code" | "argv"> & { prompt?: string | null }, opts: { now?: Date; ctx?: ParserContext; merged?: boolean; kind?: AgentKind | "auto" } = {}): Fed {
  const start = opts.now ?? CAPTURED;
  let t = start.getTime();
  const tick = () => new Date((t += 1000));
  const parser = adapterFor(opts.kind ?? f.kind, f.argv).newParser({ argv: f.argv, startedAt: start, localTimeZone: "UTC", ...(f.prompt ? { prompt: f.prompt + "\n" } : {}), ...opts.ctx });
  const out: string[] = [];
  for (const l of f.stderr) out.push(...(opts.merged ? parser.stdout(l, tick()) : parser.stderr(l, tick())));
  for (const l of f.stdout) out.push(...parser.stdout(l, tick()));
  const done = parser.finish({ code: f.code, timedOut: f.code === 124 }, tick());
  const all = [...out, ...done.lines];
  return { end: done.end, facts: done.facts, lines: all, transcript: all.join("\n") };
}

/** A claude stream-json event line, for hand-made cases next to the captured ones. */
export const ev = (o: Record<string, unknown>) => JSON.stringify(o);
