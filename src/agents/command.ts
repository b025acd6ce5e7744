/**
 * Any other program: plain text, shown as it comes. The exit code decides; on a
 * non-zero exit the last lines are checked for a usage-limit message in the wording
 * claude or codex use (a wrapper script around either keeps its limits a wait, not a
 * failure). Nothing else is read from the text: a generic agent's words about "timeouts"
 * or "401" are not the agent's verdict.
 */
import { classifyText, oneLineTrim } from "./classify.ts";
import { cleanLine, fmtDuration, resultLine, TailBuffer } from "./transcript.ts";
import type { Adapter, AgentParser, ParserContext, TurnEnd, TurnFacts } from "./types.ts";

const LIMIT_SCAN_LINES = 10;

class CommandParser implements AgentParser {
  private startedAt: Date | null;
  private tail = new TailBuffer(40, 4096);

  constructor(private readonly ctx: ParserContext) {
    this.startedAt = ctx.startedAt ?? null;
  }

  stdout(raw: string, now: Date): string[] {
    return this.take(raw, now);
  }

  stderr(raw: string, now: Date): string[] {
    return this.take(raw, now);
  }

  private take(raw: string, now: Date): string[] {
    this.startedAt ??= now;
    this.tail.push(cleanLine(raw));
    return [raw];
  }

  finish(exit: { code: number; timedOut: boolean }, now: Date): { end: TurnEnd; facts: TurnFacts; lines: string[] } {
    const end = this.classify(exit, now);
    const facts: TurnFacts = { sessionId: null, model: null, agentVersion: null, costUsd: null, tokens: null, numTurns: null, finalMessage: this.tail.text(), unknownEvents: 0 };
    const wall = `wall=${fmtDuration(now.getTime() - (this.startedAt ?? now).getTime())}`;
    return { end, facts, lines: [resultLine(now, end, [wall, `exit=${exit.code}`])] };
  }

  private classify(exit: { code: number; timedOut: boolean }, now: Date): TurnEnd {
    if (exit.timedOut) return { kind: "transient", message: "agent timed out" };
    if (exit.code === 0) return { kind: "ok" };
    for (const line of this.tail.last(LIMIT_SCAN_LINES).reverse()) {
      const v = classifyText(line, now, { vendor: "command", localTimeZone: this.ctx.localTimeZone, only: ["limit"] });
      if (v) return v;
    }
    const last = this.tail.last(1)[0];
    return { kind: "fail", message: oneLineTrim(`agent exited ${exit.code}${last ? `: ${last}` : ""}`) };
  }
}

export const commandAdapter: Adapter = {
  kind: "command",
  structured: () => false,
  resumeArgv: () => null,
  preflight: () => null,
  newParser: (ctx = {}) => new CommandParser(ctx),
};
