/**
 * Agent adapters (SPEC §14, issue 13). Adding an agent CLI: one file exporting an
 * Adapter, one entry in ADAPTERS below (and its name in AgentKind).
 */
import { basename } from "node:path";
import { claudeAdapter } from "./claude.ts";
import { codexAdapter } from "./codex.ts";
import { commandAdapter } from "./command.ts";
import type { Adapter, AgentKind } from "./types.ts";

/** Matched in order by `auto`: the executable's basename starts with the kind ("claude-wrapper" is claude). */
const ADAPTERS: readonly Adapter[] = [claudeAdapter, codexAdapter, commandAdapter];

export const AGENT_KINDS: readonly AgentKind[] = ADAPTERS.map((a) => a.kind);

/** Default argv per role (SPEC §14); the model comes from the CLI's own config. */
export const DEFAULT_ARGV = {
  supervisor: ["codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox"],
  loop: ["claude", "-p", "--dangerously-skip-permissions", "--verbose", "--output-format", "stream-json"],
} as const;

export function adapterFor(kind: "auto" | AgentKind, argv: string[]): Adapter {
  if (kind !== "auto") {
    const a = ADAPTERS.find((x) => x.kind === kind);
    if (!a) throw new Error(`unknown agent kind '${kind}'`);
    return a;
  }
  const exe = basename(argv[0] ?? "").toLowerCase();
  return ADAPTERS.find((a) => a.kind !== "command" && exe.startsWith(a.kind)) ?? commandAdapter;
}

export type { Adapter, AgentKind, TokenCounts, TurnEnd, TurnFacts } from "./types.ts";
export { limitWaitMs } from "./limits.ts";
