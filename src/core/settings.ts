/**
 * Every setting orch has, in one table: its orch.toml key, type, default,
 * flag, and environment variables (the old tool's names first). Flags,
 * `orch config`, the example orch.toml and docs/configuration.md all derive
 * from it, and `Config.get(key)` is typed by it.
 */
export type Kind = "bool" | "int" | "number" | "string" | "list" | "argv" | "enum";

/** Every command orch has; settings and `orch config --for` name commands from this list only. */
export const COMMAND_NAMES = ["supervisor", "loop", "pair", "stamp", "takeover", "tail", "status", "doctor", "init", "config", "notify", "report", "pause", "resume", "stop", "nudge"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** The two role sections (the sections whose settings differ per role). */
export type RoleSection = "supervisor" | "loop";

export interface Setting {
  /** "section.key" as in orch.toml. */
  key: string;
  kind: Kind;
  default: unknown;
  doc: string;
  /** The value is a number of seconds: `Config.ms(key)` converts it. */
  seconds?: true;
  /** Long flag without dashes; for bools, `--no-<flag>` is accepted too. */
  flag?: string;
  /** Commands whose flags include it (default: both roles when `flag` is set). */
  commands?: readonly CommandName[];
  /** Legacy environment variables read for every command. */
  env?: readonly string[];
  /** Legacy environment variables read only when that role runs. */
  roleEnv?: Partial<Record<RoleSection, readonly string[]>>;
  /** For enums. */
  choices?: readonly string[];
  /** For numbers: the smallest value allowed (default 0). */
  min?: number;
  valueHint?: string;
  /** One-letter short flag. */
  alias?: string;
}

const ROLES = ["supervisor", "loop", "pair"] as const;
const MiB = 1024 * 1024;
const REPORT_EXTENSIONS = [".png", ".jpeg", ".npy", ".txt", ".md", ".json", ".log", ".py", ".c", ".h", ".sh"];

export const SETTINGS = [
  // [git]
  { key: "git.remote", kind: "string", default: "origin", doc: "Remote that carries the shared branch.", flag: "remote", commands: [...ROLES, "stamp", "takeover", "status", "doctor", "init", "report", "pause", "resume", "stop", "nudge"], valueHint: "NAME" },
  { key: "git.branch", kind: "string", default: "", doc: "Branch both actors share; orch refuses to run on another. Empty = the checked-out branch.", flag: "branch", env: ["ORCHESTRATION_BRANCH"], commands: [...ROLES, "stamp", "takeover", "status", "doctor", "init", "report", "pause", "resume", "stop", "nudge"], valueHint: "NAME" },
  { key: "git.state_file", kind: "string", default: "sync/state.json", doc: "Turn state file, relative to the repository top level.", flag: "state-file", env: ["STATE_FILE"], commands: [...ROLES, "stamp", "takeover", "tail", "status", "doctor", "init", "report"], valueHint: "PATH" },
  { key: "git.timeout_sec", kind: "int", seconds: true, default: 120, min: 1, doc: "Timeout for every git call, in seconds (at least 1: a git call without a time limit could hang a runner forever)." },
  { key: "git.lock_timeout_sec", kind: "int", seconds: true, default: 30, doc: "How long to wait for the repository lock (<git-dir>/orchestrator.lock)." },
  { key: "git.network_retry_sec", kind: "int", seconds: true, default: 60, doc: "How long transient network errors are retried (with back-off) before giving up." },
  // [sync]
  { key: "sync.via_git", kind: "bool", default: false, doc: "Take turns through the state file on the shared branch (otherwise: async mode, no git).", flag: "sync-via-git", commands: ["supervisor", "loop"] },
  { key: "sync.loops", kind: "int", default: 20, doc: "Turns each runner takes (orch pair: cycles of galph then ralph).", flag: "sync-loops", env: ["SYNC_LOOPS"], valueHint: "N" },
  { key: "sync.poll_interval", kind: "number", seconds: true, default: 5, doc: "Seconds between polls of the remote while waiting (0 and fractions allowed).", flag: "poll-interval", env: ["POLL_INTERVAL"], valueHint: "SECONDS" },
  { key: "sync.max_wait_sec", kind: "number", seconds: true, default: 0, doc: "Give up (exit 5) after waiting this long for a turn; 0 = wait forever.", flag: "max-wait-sec", env: ["MAX_WAIT_SEC"], valueHint: "SECONDS" },
  { key: "sync.heartbeat_secs", kind: "number", seconds: true, default: 0, doc: "Print a progress line this often while waiting or while a quiet agent runs; 0 = off.", flag: "heartbeat-secs", env: ["HEARTBEAT_SECS"], valueHint: "SECONDS" },
  { key: "sync.verbose", kind: "bool", default: false, doc: "Print each state change seen while polling.", flag: "verbose" },
  { key: "sync.heartbeat_push_sec", kind: "number", seconds: true, default: 60, doc: "Push this runner's heartbeat (refs/orch/heartbeat/<actor>/<branch>) this often, while it waits and while its agent runs; it is also pushed at every phase change (0 = only then)." },
  { key: "sync.stale_after_sec", kind: "number", seconds: true, default: 600, doc: "A running peer whose heartbeat is older than this is reported silent (a peer with no heartbeat at all is unknown, never stale)." },
  // [logs]
  { key: "logs.ship", kind: "bool", default: true, doc: "Ship each turn's log, its .jsonl and its summary (redacted) to refs/orch/logs/<actor>/<branch> with its stamp, so both machines see both actors' logs." },
  { key: "logs.ship_max_bytes", kind: "int", default: 4 * MiB, min: 1024, doc: "Largest shipped copy of one log file (head and tail are kept, with a marker line between)." },
  { key: "logs.summaries", kind: "enum", default: "orch", choices: ["orch", "agent"], doc: "orch: after each turn orch writes a short summary (logs/<branch>/<actor>-summaries/) unless the agent wrote one at $ORCH_SUMMARY; agent: only the agent's own." },
  { key: "logs.redact_patterns", kind: "list", default: [], doc: "More regular expressions whose matches are redacted from shipped logs (a capture group redacts only the group)." },
  { key: "logs.dir", kind: "string", default: "logs", doc: "Base directory of the per-iteration logs.", flag: "logdir", commands: [...ROLES, "tail", "status"], valueHint: "PATH" },
  // [supervisor]
  { key: "supervisor.agent", kind: "argv", default: ["codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox"], doc: "Supervisor agent command (argv). --codex-cmd / CODEX_CMD replace only the executable.", flag: "codex-cmd", env: ["CODEX_CMD"], commands: ["supervisor", "pair"], valueHint: "PATH" },
  { key: "supervisor.prompt", kind: "string", default: "prompts/supervisor.md", doc: "Prompt file fed to the supervisor agent on stdin.", valueHint: "PATH" },
  { key: "supervisor.pty", kind: "bool", default: false, doc: "Run the supervisor agent in a pseudo-terminal." },
  { key: "supervisor.agent_kind", kind: "enum", default: "auto", choices: ["auto", "claude", "codex", "command"], doc: "How orch reads the supervisor agent's output: auto (from the executable's name), claude, codex, or command (plain text)." },
  { key: "supervisor.agent_timeout_sec", kind: "number", seconds: true, default: 21600, doc: "Stop the supervisor agent after this many seconds (exit 124, then retried: agent.retries); 0 = off.", flag: "agent-timeout-sec", commands: ["supervisor", "pair"], valueHint: "SECONDS" },
  { key: "supervisor.idle_timeout_sec", kind: "number", seconds: true, default: 3600, doc: "Stop the supervisor agent after this many seconds without output (exit 124, then retried); 0 = off. Never below 300 for claude, whose own stream fallback takes 300 s.", flag: "idle-timeout-sec", commands: ["supervisor", "pair"], valueHint: "SECONDS" },
  // [loop]
  { key: "loop.agent", kind: "argv", default: ["claude", "-p", "--dangerously-skip-permissions", "--verbose", "--output-format", "stream-json"], doc: "Loop (engineer) agent command (argv). --claude-cmd / CLAUDE_CMD replace only the executable.", flag: "claude-cmd", env: ["CLAUDE_CMD"], commands: ["loop", "pair"], valueHint: "PATH" },
  { key: "loop.prompt", kind: "string", default: "main", doc: "Prompt name: the loop feeds <prompts_dir>/<prompt>.md to its agent.", flag: "prompt", env: ["LOOP_PROMPT"], commands: ["loop", "pair"], valueHint: "NAME" },
  { key: "loop.prompts_dir", kind: "string", default: "prompts", doc: "Directory of the loop's prompt files.", valueHint: "PATH" },
  { key: "loop.pty", kind: "bool", default: false, doc: "Run the loop agent in a pseudo-terminal." },
  { key: "loop.agent_kind", kind: "enum", default: "auto", choices: ["auto", "claude", "codex", "command"], doc: "How orch reads the loop agent's output: auto (from the executable's name), claude, codex, or command (plain text)." },
  { key: "loop.agent_timeout_sec", kind: "number", seconds: true, default: 21600, doc: "Stop the loop agent after this many seconds (exit 124, then retried: agent.retries); 0 = off.", flag: "agent-timeout-sec", commands: ["loop", "pair"], valueHint: "SECONDS" },
  { key: "loop.idle_timeout_sec", kind: "number", seconds: true, default: 3600, doc: "Stop the loop agent after this many seconds without output (exit 124, then retried); 0 = off. Never below 300 for claude, whose own stream fallback takes 300 s.", flag: "idle-timeout-sec", commands: ["loop", "pair"], valueHint: "SECONDS" },
  // [agent]
  { key: "agent.retries", kind: "int", default: 2, doc: "Run a turn again this many times after a timeout or a transient agent failure (overloaded, 5xx) before stamping it fail." },
  { key: "agent.retry_backoff_sec", kind: "number", seconds: true, default: 30, doc: "Wait this long before the first rerun of a failed attempt; doubles for each further rerun." },
  // [limits]
  { key: "limits.max_wait_sec", kind: "number", seconds: true, default: 43200, doc: "A usage limit that would keep a turn waiting longer than this in all (weekly limits) stamps it fail and exits 8." },
  { key: "limits.min_wait_sec", kind: "number", seconds: true, default: 60, doc: "The shortest wait for a usage limit, also when its reset time is (nearly) now." },
  { key: "limits.jitter_sec", kind: "number", seconds: true, default: 60, doc: "Up to this much is added to a limit's reset time, so the machines do not all retry in the same second." },
  { key: "limits.backoff_sec", kind: "number", seconds: true, default: 300, doc: "When a limit gives no reset time: wait this long, doubling per attempt (at most 1 h)." },
  // [pair]
  { key: "pair.review_every", kind: "int", default: 0, doc: "Every Nth iteration galph's turn runs the reviewer prompt instead of its usual one (orch pair, and orch supervisor on two machines); 0 = never.", flag: "review-every", commands: ["supervisor", "pair"], valueHint: "N" },
  { key: "pair.reviewer_prompt", kind: "string", default: "prompts/reviewer.md", doc: "The reviewer prompt galph runs every pair.review_every iterations.", valueHint: "PATH" },
  // [reports]
  { key: "reports.enabled", kind: "bool", default: true, doc: "Auto-commit report files the agent left (both roles).", flag: "auto-commit-reports" },
  { key: "reports.extensions", kind: "list", default: REPORT_EXTENSIONS, doc: "Extensions of report files (lowercase, with the dot).", flag: "report-extensions", roleEnv: { supervisor: ["SUPERVISOR_REPORT_EXTENSIONS"], loop: ["REPORT_EXTENSIONS"] }, valueHint: "LIST" },
  { key: "reports.path_globs", kind: "list", default: [], doc: "If non-empty, only report paths matching one of these globs.", flag: "report-path-globs", roleEnv: { supervisor: ["SUPERVISOR_REPORT_PATH_GLOBS"], loop: ["REPORT_PATH_GLOBS"] }, valueHint: "GLOBS" },
  { key: "reports.max_file_bytes", kind: "int", default: 5 * MiB, doc: "Largest report file committed.", flag: "max-report-file-bytes", roleEnv: { supervisor: ["SUPERVISOR_MAX_REPORT_FILE_BYTES"], loop: ["MAX_REPORT_FILE_BYTES"] }, valueHint: "BYTES" },
  { key: "reports.max_total_bytes", kind: "int", default: 20 * MiB, doc: "Most report bytes committed per turn.", flag: "max-report-total-bytes", roleEnv: { supervisor: ["SUPERVISOR_MAX_REPORT_TOTAL_BYTES"], loop: ["MAX_REPORT_TOTAL_BYTES"] }, valueHint: "BYTES" },
  { key: "reports.force_add", kind: "bool", default: true, doc: "Also commit report files that .gitignore ignores.", flag: "force-add-reports" },
  { key: "reports.force_add_globs", kind: "list", default: ["reports/**", "plans/**/reports/**"], doc: "With force_add on, ignored files are committed only under these globs; elsewhere git's ignore rules win.", valueHint: "GLOBS" },
  { key: "reports.skip_config", kind: "string", default: ".reportsignore", doc: "File of path prefixes the loop never auto-commits as reports.", env: ["REPORT_SKIP_CONFIG"], valueHint: "PATH" },
  { key: "reports.prepull_globs", kind: "list", default: ["plans/active/**/reports/**"], doc: "Reports the loop publishes before each pull.", valueHint: "GLOBS" },
  // [tracked_outputs]
  { key: "tracked_outputs.enabled", kind: "bool", default: true, doc: "Auto-commit modified tracked outputs (supervisor).", flag: "auto-commit-tracked-outputs", commands: ["supervisor", "pair"] },
  { key: "tracked_outputs.globs", kind: "list", default: ["tests/fixtures/**/*.npy", "tests/fixtures/**/*.npz", "tests/fixtures/**/*.json", "tests/fixtures/**/*.pkl"], doc: "Tracked output paths eligible for auto-commit.", flag: "tracked-output-globs", env: ["SUPERVISOR_TRACKED_OUTPUT_GLOBS"], commands: ["supervisor", "pair"], valueHint: "GLOBS" },
  { key: "tracked_outputs.extensions", kind: "list", default: [".npy", ".npz", ".json", ".pkl"], doc: "Extensions of tracked outputs.", flag: "tracked-output-extensions", env: ["SUPERVISOR_TRACKED_OUTPUT_EXTENSIONS"], commands: ["supervisor", "pair"], valueHint: "LIST" },
  { key: "tracked_outputs.max_file_bytes", kind: "int", default: 32 * MiB, doc: "Largest tracked output committed.", flag: "max-tracked-output-file-bytes", env: ["SUPERVISOR_MAX_TRACKED_OUTPUT_FILE_BYTES"], commands: ["supervisor", "pair"], valueHint: "BYTES" },
  { key: "tracked_outputs.max_total_bytes", kind: "int", default: 100 * MiB, doc: "Most tracked-output bytes committed per turn.", flag: "max-tracked-output-total-bytes", env: ["SUPERVISOR_MAX_TRACKED_OUTPUT_TOTAL_BYTES"], commands: ["supervisor", "pair"], valueHint: "BYTES" },
  // [autocommit] (supervisor doc/meta whitelist)
  { key: "autocommit.enabled", kind: "bool", default: true, doc: "Commit whitelisted doc/meta files after a supervisor turn; any other dirt fails the handoff.", flag: "auto-commit-docs", commands: ["supervisor", "pair"] },
  { key: "autocommit.whitelist", kind: "list", default: ["input.md", "galph_memory.md", "docs/fix_plan.md", "plans/**/*.md", "prompts/**/*.md"], doc: "Doc/meta globs the supervisor may commit.", flag: "autocommit-whitelist", env: ["SUPERVISOR_AUTOCOMMIT_WHITELIST"], commands: ["supervisor", "pair"], valueHint: "GLOBS" },
  { key: "autocommit.ignore_globs", kind: "list", default: ["*.bak", "*.tmp", "*~", "*.swp", ".DS_Store"], doc: "Dirty paths left alone (neither committed nor blocking).", flag: "autocommit-ignore-globs", env: ["SUPERVISOR_AUTOCOMMIT_IGNORE_GLOBS"], commands: ["supervisor", "pair"], valueHint: "GLOBS" },
  { key: "autocommit.max_bytes", kind: "int", default: MiB, doc: "Largest doc/meta file committed.", flag: "max-autocommit-bytes", env: ["MAX_AUTOCOMMIT_BYTES"], commands: ["supervisor", "pair"], valueHint: "BYTES" },
  { key: "autocommit.prepull", kind: "bool", default: true, doc: "When a pull fails on local dirt: scrub submodules, commit tracked outputs, commit doc/meta, retrying after each.", flag: "prepull-auto-commit-docs", commands: ["supervisor", "pair"] },
  { key: "autocommit.dry_run", kind: "bool", default: false, doc: "Print what each auto-commit step would commit and why other paths are skipped; commit nothing.", flag: "commit-dry-run" },
  // [tail]
  { key: "tail.count", kind: "int", default: 5, doc: "Iterations in the digest (0 = all).", flag: "count", alias: "n", commands: ["tail"], valueHint: "N" },
  { key: "tail.ls_paths", kind: "list", default: ["docs", "plans", "reports"], doc: "Paths listed in each log's <ls> snapshots.", flag: "ls-paths", commands: ["tail"], valueHint: "LIST" },
  { key: "tail.source", kind: "enum", default: "logs", choices: ["logs", "summaries"], doc: "Read agent logs or their summaries.", flag: "source", commands: ["tail"], valueHint: "logs|summaries" },
  { key: "tail.roles", kind: "list", default: ["galph", "ralph"], doc: "Roles in the digest, in this order.", flag: "roles", commands: ["tail"], valueHint: "LIST" },
  { key: "tail.max_log_bytes", kind: "int", default: 8 * MiB, doc: "Cap on each log in the digest: a longer one keeps its head and tail, the middle is left out (0 = no cap).", flag: "max-log-bytes", commands: ["tail"], valueHint: "BYTES" },
  // [stalemate]
  { key: "stalemate.cycles", kind: "int", default: 3, doc: "Pause the pair and notify after this many cycles in a row in which ralph changed no file outside the doc/meta whitelist, or galph's input.md came out identical; 0 = off." },
  // [notify] (validated further by src/notify/config.ts: event names, URL)
  { key: "notify.on", kind: "list", default: ["turn_failed", "blocked", "unblocked", "peer_stale", "peer_back", "stalemate", "run_done", "paused", "stopped"], doc: "Events that notify (turn_failed, blocked, unblocked, peer_stale, peer_back, stalemate, run_done, paused, stopped).", valueHint: "LIST" },
  { key: "notify.command", kind: "list", default: [], doc: "Command run for each event (argv, no shell) with ORCH_EVENT, ORCH_ACTOR, ORCH_MESSAGE, ... in its environment and the event as JSON on stdin; empty = off.", valueHint: "ARGV" },
  { key: "notify.webhook_url", kind: "string", default: "", doc: "URL each event is POSTed to (e.g. https://ntfy.sh/<topic>); empty = off.", valueHint: "URL" },
  { key: "notify.webhook_format", kind: "enum", default: "json", choices: ["json", "text", "ntfy", "slack", "discord"], doc: "Body of the webhook POST: json (the event), text (one line with ntfy headers), ntfy (JSON to the server root, topic = the URL's last segment), slack, discord.", valueHint: "json|text|ntfy|slack|discord" },
  { key: "notify.timeout_sec", kind: "number", seconds: true, default: 10, doc: "Time the hook and the webhook each get before the hook's process group is killed or the request abandoned (seconds, > 0)." },
] as const satisfies readonly Setting[];

export type AnySetting = (typeof SETTINGS)[number];
export type SettingKey = AnySetting["key"];
interface KindValue {
  bool: boolean;
  int: number;
  number: number;
  string: string;
  enum: string;
  list: string[];
  argv: string[];
}
/** The value type of one setting, from its kind. */
export type SettingValue<K extends SettingKey> = KindValue[Extract<AnySetting, { key: K }>["kind"]];
/** Keys whose value is a number of seconds. */
export type SecondsKey = Extract<AnySetting, { seconds: true }>["key"];

export const SETTING_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s as Setting]));
export const SECTIONS = [...new Set(SETTINGS.map((s) => s.key.split(".")[0]!))];

/** ORCH_<SECTION>_<KEY>, read for every setting after the legacy names. */
export function orchEnvName(key: string): string {
  return "ORCH_" + key.replace(".", "_").toUpperCase();
}

/** Commands whose flags include this setting. */
export function flagCommands(s: Setting): readonly CommandName[] {
  return s.commands ?? ROLES;
}

export function settingsForCommand(command: CommandName): Setting[] {
  return (SETTINGS as readonly Setting[]).filter((s) => s.flag && flagCommands(s).includes(command));
}
