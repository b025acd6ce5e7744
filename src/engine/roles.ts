import { isAbsolute, join } from "node:path";
import type { Config } from "../core/config.ts";
import type { Actor } from "../core/state.ts";

/** A role is data: both commands run the same turn engine with one of these. */
export interface Role {
  command: "supervisor" | "loop";
  actor: Actor;
  peer: Actor;
  /** Console prefix for the role's own messages. */
  tag: string;
  /** Setting keys of this role's section. */
  section: "supervisor" | "loop";
  /** Creates the state file when the branch has none (SPEC §2). */
  initialisesState: boolean;
  /** After its turn, waits until the peer finished the iteration (SPEC §4.8). */
  waitsForPeer: boolean;
  promptPath(config: Config, top: string): string;
  /** Appended to the log name after the timestamp (SPEC §5). */
  logSuffix(config: Config): string;
}

const abs = (top: string, p: string) => (isAbsolute(p) ? p : join(top, p));

export const SUPERVISOR: Role = {
  command: "supervisor",
  actor: "galph",
  peer: "ralph",
  tag: "[supervisor]",
  section: "supervisor",
  initialisesState: true,
  waitsForPeer: true,
  promptPath: (config, top) => abs(top, config.get<string>("supervisor.prompt")),
  logSuffix: () => "",
};

export const LOOP: Role = {
  command: "loop",
  actor: "ralph",
  peer: "galph",
  tag: "[loop]",
  section: "loop",
  initialisesState: false,
  waitsForPeer: false,
  promptPath: (config, top) => abs(top, join(config.get<string>("loop.prompts_dir"), `${config.get<string>("loop.prompt")}.md`)),
  logSuffix: (config) => `_${config.get<string>("loop.prompt")}`,
};
