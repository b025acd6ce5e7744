import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { loadConfig } from "../../src/core/config.ts";
import { notifySettings } from "../../src/notify/config.ts";

export interface Received {
  method: string;
  path: string;
  contentType: string | null;
  headers: Record<string, string>;
  body: string;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request. `answer` decides the reply:
 * a status code, or "hang" to never answer.
 */
export function startServer(answer: () => number | "hang" = () => 200) {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      received.push({
        method: req.method,
        path: url.pathname + url.search,
        contentType: req.headers.get("content-type"),
        headers: Object.fromEntries(req.headers.entries()),
        body: await req.text(),
      });
      const a = answer();
      if (a === "hang") return new Promise<Response>(() => {});
      return new Response(a >= 400 ? `{"error":"status ${a} on purpose"}` : "ok", { status: a });
    },
  });
  afterAll(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, received, server };
}

/** A scratch directory removed after the file's tests; its name has a space (proof that no shell parses argv). */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "orch notify-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write an executable shell script. */
export function script(path: string, body: string): string {
  writeFileSync(path, "#!/bin/sh\n" + body);
  chmodSync(path, 0o755);
  return path;
}

/** A hook that records its ORCH_* environment and its stdin next to `prefix`. */
export function recordingHook(dir: string, name = "hook.sh"): string {
  return script(join(dir, name), 'env | grep "^ORCH_" | sort > "$1.env"\ncat > "$1.json"\necho "$1" >> "$1.calls"\n');
}

/** `[notify]` settings as the runner reads them, from this orch.toml text (no environment). */
export function settingsFrom(toml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "orch-notify-config-"));
  try {
    writeFileSync(join(dir, "orch.toml"), toml);
    return notifySettings(loadConfig({ dir, env }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TOML for a [notify] table. */
export function notifyToml(fields: Record<string, unknown>): string {
  return "[notify]\n" + Object.entries(fields).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n") + "\n";
}
