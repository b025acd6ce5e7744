import { readFileSync, writeFileSync, unlinkSync } from "node:fs";

/**
 * The agent runs in its own process group, so a `kill -9` of orch leaves it
 * running. orch records the group (leader pid + its start time, which guards
 * against a reused pid) and a relaunch stops a group it finds still alive.
 */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

export function recordAgent(file: string, pid: number): void {
  const started = startTime(pid);
  if (started) writeFileSync(file, `${pid} ${started}\n`);
}

export function forgetAgent(file: string): void {
  try {
    unlinkSync(file);
  } catch {}
}

/** Stop the process group of an agent a killed orch left behind; returns its pid, or null. */
export async function reapLeftoverAgent(file: string): Promise<number | null> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  forgetAgent(file);
  const [pidText, started] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!pid || !started || startTime(pid) !== started) return null;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {}
  };
  kill("SIGTERM");
  for (let i = 0; i < 50 && startTime(pid) === started; i++) await Bun.sleep(100);
  if (startTime(pid) === started) kill("SIGKILL");
  return pid;
}
