// Replaced at build time with --define; `bun run src/cli.ts` falls back to "dev".
declare const ORCH_VERSION: string | undefined;
declare const ORCH_GIT_SHA: string | undefined;
export const VERSION: string = typeof ORCH_VERSION === "string" ? ORCH_VERSION : "0.0.0-dev";
export const GIT_SHA: string = typeof ORCH_GIT_SHA === "string" ? ORCH_GIT_SHA : "unknown";
