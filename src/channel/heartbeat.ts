/**
 * heartbeat.json (SPEC §12): what a runner says about itself, on
 * `refs/orch/heartbeat/<actor>/<branch>` as a parentless commit, pushed at
 * every phase change and every sync.heartbeat_push_sec while it lives.
 */
import { createHash } from "node:crypto";
import type { Config } from "../core/config.ts";
import { SETTING_BY_KEY } from "../core/settings.ts";
import type { Actor } from "../core/state.ts";

export const PHASES = ["starting", "waiting", "running", "blocked", "paused", "stopped"] as const;
export type Phase = (typeof PHASES)[number];

export interface Heartbeat {
  schema: 1;
  actor: Actor;
  role: string;
  host: string;
  clone: string;
  pid: number;
  orch_version: string;
  config_hash: string;
  agent: { argv0: string; version: string | null };
  phase: Phase;
  iteration: number | null;
  turn_started_at: string | null;
  last_output_at: string | null;
  updated_at: string;
  blocked_until: string | null;
  reason: string | null;
}

export function serializeHeartbeat(h: Heartbeat): string {
  return JSON.stringify(h, null, 2) + "\n";
}

/** A heartbeat read from the remote; null when it is not one (never trusted further than its shape). */
export function parseHeartbeat(text: string | null): Heartbeat | null {
  if (!text) return null;
  try {
    const h = JSON.parse(text) as Partial<Heartbeat>;
    if (typeof h !== "object" || h === null || h.schema !== 1) return null;
    if (typeof h.actor !== "string" || typeof h.host !== "string" || typeof h.updated_at !== "string" || !PHASES.includes(h.phase as Phase)) return null;
    return h as Heartbeat;
  } catch {
    return null;
  }
}

/** Seconds since the heartbeat was written (null when its time is unreadable). */
export function heartbeatAgeSec(h: Heartbeat, now = Date.now()): number | null {
  const t = Date.parse(h.updated_at);
  return Number.isNaN(t) ? null : Math.round((now - t) / 1000);
}

/**
 * A hash of the settings both machines must agree on ([git], [sync], [logs])
 * as orch.toml (or the defaults) set them, so `orch status` can warn when the
 * two machines' files differ. A flag or variable of one run (--sync-loops 3)
 * is a choice of that run, not a disagreement: it is left out.
 */
export function configHash(config: Config): string {
  const shared = [...config.values.entries()]
    .filter(([k]) => /^(git|sync|logs)\./.test(k))
    .map(([k, v]) => {
      const source = config.sources.get(k)?.kind;
      return [k, source === "file" || source === "default" ? v : (SETTING_BY_KEY.get(k)?.default ?? null)] as const;
    })
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash("sha256").update(JSON.stringify(shared)).digest("hex").slice(0, 12);
}
