/**
 * Async mode (no --sync-via-git): run the agent N times locally, no state, no
 * git; stop at the first failure. Its logs live beside the sync logs but never
 * in the same folder (`<actor>-async/`), so they can never replace a turn's
 * log in `orch tail`.
 */
import { Exit } from "../core/errors.ts";
import type { Clone, NoRepo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { runAgent } from "./agent.ts";
import { agentRun, agentSettings, reapLeftover, requirePrompt } from "./agent-setup.ts";
import { createIterationLog } from "./logs.ts";
import { Shutdown } from "./shutdown.ts";

export async function runAsync(role: Role, place: Clone | NoRepo, say: (l: string) => void): Promise<number> {
  const { config, top } = place;
  const a = agentSettings(role, place);
  requirePrompt(role, place);
  const branch = config.get("git.branch") || (place.inRepo ? place.checkedOut : null) || "local";
  const logSetting = config.get("logs.dir");
  const logDir = isAbsolute(logSetting) ? logSetting : resolve(top, logSetting);
  const loops = config.get("sync.loops");
  if (place.inRepo && existsSync(place.statePath)) {
    say(`${role.tag} async mode: running the agent ${loops} time(s) locally, without turns; ${place.stateRel} is left alone (for turns with the other machine: add --sync-via-git)`);
  }
  await reapLeftover(role, place, say);
  const shutdown = new Shutdown(say);
  shutdown.install();
  try {
    for (let i = 1; i <= loops; i++) {
      const log = createIterationLog({ logDir, branch, actor: `${role.actor}-async`, iteration: i, suffix: role.logSuffix(config.forRole(role.section)) });
      try {
        log.line("$ " + a.argv.join(" "));
        say(`${role.tag} run ${i}/${loops} (async) log=${log.path}`);
        shutdown.agentRunning = true;
        const outcome = await runAgent(agentRun(role, place, { branch, iteration: i, log, shutdown, say })).finally(() => (shutdown.agentRunning = false));
        if (outcome.interrupted) return outcome.code;
        if (outcome.code !== 0) {
          say(`${role.tag} run ${i} failed with exit ${outcome.code}; stopping (log: ${log.path})`);
          return outcome.code;
        }
      } finally {
        log.close();
      }
    }
    return Exit.ok;
  } finally {
    shutdown.uninstall();
  }
}
