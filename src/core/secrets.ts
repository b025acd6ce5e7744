/**
 * What must never leave the machine (SPEC §7, §12): paths that name secrets or
 * tool directories, files whose content holds a well-known token shape, and
 * the redaction applied to text orch ships elsewhere (logs on refs/orch/*).
 *
 * One module so the auto-commit hygiene and the side channel agree on what a
 * secret looks like. It depends on nothing above core. Findings carry a kind
 * and a line, never the value: whatever reports a finding cannot leak it.
 */
import { usageError } from "./errors.ts";

// ---- path rule ------------------------------------------------------------------

/**
 * Never-commit names, matched case-insensitively against every path component
 * (a `.env/` directory counts as much as a `.env` file). `*` is a prefix or
 * suffix wildcard only, which is all the list needs and keeps the check a few
 * string compares per component (it runs on every entry of an ignored walk).
 */
export const SECRET_NAME_RULES = [
  ".env*", ".ssh", ".aws", ".docker", ".gnupg", "secret*", "credentials*", "service-account*",
  "*.pem", "*.key", "*.p12", "id_rsa*", "id_ed25519*", ".netrc", ".npmrc", ".pypirc", ".git-credentials",
] as const;

/** Rules of consecutive components: `.config/gcloud` holds gcloud's credentials. */
export const SECRET_DIR_PAIRS = [[".config", "gcloud"]] as const;

/** Directories of tools (never source): matched against directory components only. */
export const TOOL_DIRS: ReadonlySet<string> = new Set([".git", "node_modules", ".venv", "venv", "__pycache__"]);

type NameTest = (lower: string) => boolean;
const NAME_TESTS: { rule: string; test: NameTest }[] = SECRET_NAME_RULES.map((rule) => {
  if (rule.startsWith("*")) {
    const suffix = rule.slice(1);
    return { rule, test: (n: string) => n.endsWith(suffix) };
  }
  if (rule.endsWith("*")) {
    const prefix = rule.slice(0, -1);
    return { rule, test: (n: string) => n.startsWith(prefix) };
  }
  return { rule, test: (n: string) => n === rule };
});

export interface PathMatch {
  kind: "secret" | "tool";
  /** The rule as written: ".env*", ".config/gcloud", "node_modules". */
  rule: string;
  /** The path up to the matching component; ends with "/" when that is a directory. */
  at: string;
  /** Why, in a few words that name the rule (no trailing period). */
  reason: string;
}

/**
 * The leftmost component of a repo-relative path (forward slashes; a trailing
 * "/" marks a directory) that a never-commit rule matches, or null.
 */
export function matchSecretPath(path: string): PathMatch | null {
  const isDir = path.endsWith("/");
  const parts = (isDir ? path.slice(0, -1) : path).split("/");
  const dirCount = isDir ? parts.length : parts.length - 1;
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    if (name === "") continue;
    const lower = name.toLowerCase();
    const isDirPart = i < dirCount;
    const at = parts.slice(0, i + 1).join("/") + (isDirPart ? "/" : "");
    if (isDirPart && TOOL_DIRS.has(lower)) {
      return { kind: "tool", rule: lower, at, reason: `under ${at} (tool directory)` };
    }
    for (const { rule, test } of NAME_TESTS) {
      if (test(lower)) return { kind: "secret", rule, at, reason: `looks like a secret ("${rule}" matches "${name}${isDirPart ? "/" : ""}")` };
    }
    for (const [first, second] of SECRET_DIR_PAIRS) {
      const next = parts[i + 1];
      if (lower === first && next !== undefined && next.toLowerCase() === second) {
        const pairAt = parts.slice(0, i + 2).join("/") + (i + 1 < dirCount ? "/" : "");
        return { kind: "secret", rule: `${first}/${second}`, at: pairAt, reason: `looks like a secret ("${first}/${second}" matches "${name}/${next}")` };
      }
    }
  }
  return null;
}

// ---- token shapes -----------------------------------------------------------------

interface TokenRule {
  kind: string;
  /**
   * Global regex. When it has a named group `v`, only that group is the secret
   * (the rest, e.g. an `aws_secret_access_key =` label, is context kept by
   * redaction); the group must end the match.
   */
  re: RegExp;
  /** Extra test on the secret part, to drop placeholders and prose. */
  ok?: (value: string) => boolean;
}

/** A run of one character six or more times: `AKIAXXXXXXXXXXXXXXXX`, `ghp_xxxx…`, `sk-000000…`. */
const REPEATS = /(.)\1{5}/;
const notPlaceholder = (v: string) => !REPEATS.test(v);
/** Real API keys are random: a digit, a lower- and an upper-case letter. Prose (`sk-your-key-here`) is not. */
const mixed = (v: string) => notPlaceholder(v) && /[0-9]/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v);
const hasDigit = (v: string) => notPlaceholder(v) && /[0-9]/.test(v);

/**
 * Well-known credential shapes. Each is anchored on a literal prefix and bounded
 * on both sides by a character the token cannot contain, so random bytes (a PNG
 * scanned as latin1) and base64 blobs practically never match.
 */
const TOKEN_RULES: TokenRule[] = [
  { kind: "aws-access-key", re: /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g, ok: notPlaceholder },
  {
    kind: "aws-secret-key",
    // The label makes it AWS's: `aws_secret_access_key = …`, `"SecretAccessKey": "…"`, `awsSecretKey: …`.
    re: /(?<![A-Za-z0-9])(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)["']?\s{0,4}[:=]{1,2}>?\s{0,4}["']?(?<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    ok: notPlaceholder,
  },
  { kind: "github-token", re: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])/g, ok: notPlaceholder },
  { kind: "github-token", re: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])/g, ok: notPlaceholder },
  { kind: "gitlab-token", re: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}/g, ok: notPlaceholder },
  { kind: "anthropic-key", re: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g, ok: hasDigit },
  { kind: "openai-key", re: /(?<![A-Za-z0-9_-])sk-(?!ant-)[A-Za-z0-9_-]{20,}/g, ok: mixed },
  { kind: "stripe-key", re: /(?<![A-Za-z0-9_])[sr]k_live_[A-Za-z0-9]{20,}/g, ok: notPlaceholder },
  { kind: "slack-token", re: /(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}/g, ok: hasDigit },
  { kind: "slack-webhook", re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{16,}/g, ok: notPlaceholder },
  { kind: "google-api-key", re: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g, ok: notPlaceholder },
  { kind: "npm-token", re: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g, ok: notPlaceholder },
  { kind: "jwt", re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
];

/**
 * A private key header followed by key material (base64, after optional PEM
 * headers; newlines may be JSON-escaped as in stream-json logs). A header alone,
 * as in code that parses PEM files, is not a key.
 */
const KEY_HEADER = String.raw`-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----`;
const LINE_GAP = String.raw`(?:\\r|\\n|\s)+`;
const KEY_START = String.raw`${KEY_HEADER}${LINE_GAP}(?:[A-Za-z-]+: [^\\\r\n]*${LINE_GAP})*[A-Za-z0-9+/=]{20,}`;
const PRIVATE_KEY = new RegExp(KEY_START, "g");
/** For redaction: the whole block up to its END line (within 64 KiB), else the header and the base64 lines after it. */
const PRIVATE_KEY_BLOCK = new RegExp(
  String.raw`${KEY_START}(?:[\s\S]{0,65536}?-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----|(?:(?:\\r)?(?:\\n|\r?\n)[A-Za-z0-9+/=]+(?=\\r|\\n|\r|\n|$))*)`,
  "g",
);

export interface SecretHit {
  /** Stable id of the shape: "aws-access-key", "github-token", "private-key", … */
  kind: string;
  /** 1-based line of the match's start. */
  line: number;
}

/** Stop collecting after this many hits: one is enough to keep a file out. */
const MAX_HITS = 100;

/** Text as latin1: one char per byte, so offsets are byte offsets and nothing is lost to decoding. */
function asText(input: Uint8Array | string): string {
  if (typeof input === "string") return input;
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("latin1");
}

/** 1-based line numbers for ascending offsets: the text is walked once however many hits there are. */
function lineCounter(text: string): (offset: number) => number {
  let next = text.indexOf("\n");
  let line = 1;
  return (offset) => {
    while (next !== -1 && next < offset) {
      line++;
      next = text.indexOf("\n", next + 1);
    }
    return line;
  };
}

/**
 * Well-known secrets in a file's bytes: kind and line of each (never the value),
 * in file order. Binary files are scanned too (as latin1): the shapes are
 * anchored and bounded enough that random bytes do not match, and a key pasted
 * into a binary is still a key.
 */
export function scanSecrets(input: Uint8Array | string): SecretHit[] {
  const text = asText(input);
  const found: { kind: string; offset: number }[] = [];
  const rules: TokenRule[] = [{ kind: "private-key", re: PRIVATE_KEY }, ...TOKEN_RULES];
  for (const rule of rules) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m !== null && found.length < MAX_HITS; m = rule.re.exec(text)) {
      const value = m.groups?.v ?? m[0];
      if (!rule.ok || rule.ok(value)) found.push({ kind: rule.kind, offset: m.index });
    }
    rule.re.lastIndex = 0;
  }
  found.sort((a, b) => a.offset - b.offset);
  const lineOf = lineCounter(text);
  return found.map((f) => ({ kind: f.kind, line: lineOf(f.offset) }));
}

/** "aws-access-key on line 3, github-token on line 9": a finding said without its value. */
export function describeHits(hits: SecretHit[], max = 3): string {
  const shown = hits.slice(0, max).map((h) => `${h.kind} on line ${h.line}`);
  return hits.length > max ? `${shown.join(", ")} and ${hits.length - max} more` : shown.join(", ");
}

// ---- redaction ----------------------------------------------------------------------

export const redactionMarker = (kind: string) => `[REDACTED:${kind}]`;

/** Environment variable names whose values are secrets. */
const SECRET_ENV_NAME = /KEY|TOKEN|SECRET|PASSWORD/i;
/** Shorter values are too likely to occur by chance ("1", "true", a port). */
export const MIN_ENV_SECRET_LENGTH = 8;

/**
 * Values worth redacting: long enough, not a plain number, not a file path
 * (`SSH_KEY_PATH=/home/u/.ssh/id_rsa` would otherwise blank every path in a log).
 */
function secretEnvValue(value: string): boolean {
  const v = value.trim();
  if (v.length < MIN_ENV_SECRET_LENGTH) return false;
  if (/^[0-9]+$/.test(v)) return false;
  if (/^(?:~|\.{0,2})\/[^\s]*$/.test(v)) return false;
  return true;
}

export interface RedactOptions {
  /** Environment whose KEY/TOKEN/SECRET/PASSWORD values are redacted (orch's own process.env). */
  env?: Record<string, string | undefined>;
  /** More regular expressions (logs.redact_patterns): the whole match, or its first group when it has one. */
  patterns?: (string | RegExp)[];
}

export interface Redaction {
  text: string;
  /** Replacements made. */
  count: number;
  /** Replacements per kind ("aws-access-key", "env:MY_API_KEY", "pattern", …). */
  kinds: Record<string, number>;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `logs.redact_patterns` compiled; a bad one is a usage error naming it. */
export function compileRedactPatterns(list: (string | RegExp)[]): RegExp[] {
  return list.map((p) => {
    if (p instanceof RegExp) return new RegExp(p.source, p.flags.includes("g") ? p.flags : p.flags + "g");
    let re: RegExp;
    try {
      re = new RegExp(p, "g");
    } catch (e) {
      throw usageError(`logs.redact_patterns: ${JSON.stringify(p)} is not a valid regular expression (${(e as Error).message}); fix or remove it`);
    }
    if (re.test("")) throw usageError(`logs.redact_patterns: ${JSON.stringify(p)} matches the empty string; make it match something`);
    return re;
  });
}

/** Authorization header values (HTTP dumps, curl -v, JSON headers): everything after the colon on that line. */
const AUTH_HEADER = /(?<pre>\bauthorization["']?\s{0,4}[:=]\s{0,4}["']?)(?<v>[^\s"'\\][^\r\n"'\\]*)/gi;
/** A bearer token outside a header: long enough and with a digit, so prose ("bearer authentication") stays. */
const BEARER = /(?<pre>\bbearer\s+)(?<v>[A-Za-z0-9._~+/-]{12,}=*)/gi;

/**
 * A redactor for one configuration (compile once, apply to many logs). Order:
 * private key blocks, Authorization values, bearer tokens, token shapes, the
 * environment's secret values, user patterns; markers never match a later rule.
 */
export function makeRedactor(opts: RedactOptions = {}): (text: string) => Redaction {
  const user = compileRedactPatterns(opts.patterns ?? []);
  const envByValue = new Map<string, string>();
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined || !SECRET_ENV_NAME.test(name) || !secretEnvValue(value)) continue;
    for (const form of new Set([value, JSON.stringify(value).slice(1, -1)])) if (!envByValue.has(form)) envByValue.set(form, name);
  }
  const envRe = envByValue.size
    ? new RegExp([...envByValue.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g")
    : null;
  const steps: { kind: string | ((m: string) => string); re: RegExp; ok?: (v: string) => boolean }[] = [
    { kind: "private-key", re: PRIVATE_KEY_BLOCK },
    { kind: "authorization", re: AUTH_HEADER, ok: (v) => !v.startsWith("[REDACTED:") },
    { kind: "bearer", re: BEARER, ok: (v) => /[0-9]/.test(v) },
    ...TOKEN_RULES,
    ...(envRe ? [{ kind: (m: string) => `env:${envByValue.get(m)}`, re: envRe }] : []),
    ...user.map((re) => ({ kind: "pattern", re })),
  ];
  return (input) => {
    let text = input;
    let count = 0;
    const kinds: Record<string, number> = {};
    for (const step of steps) {
      step.re.lastIndex = 0;
      text = text.replace(step.re, (...args: unknown[]) => {
        const match = args[0] as string;
        const last = args[args.length - 1];
        const groups = typeof last === "object" && last !== null ? (last as Record<string, string | undefined>) : undefined;
        // The secret part: the `v` group of our rules, or a user pattern's first group.
        const group1 = step.kind === "pattern" && typeof args[1] === "string" ? (args[1] as string) : undefined;
        const value = groups?.v ?? group1 ?? match;
        if (value === "" || (step.ok && !step.ok(value))) return match;
        const kind = typeof step.kind === "string" ? step.kind : step.kind(match);
        count++;
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        if (value === match) return redactionMarker(kind);
        const at = group1 !== undefined && groups?.v === undefined ? match.indexOf(value) : match.length - value.length;
        return match.slice(0, at) + redactionMarker(kind) + match.slice(at + value.length);
      });
      step.re.lastIndex = 0;
    }
    return { text, count, kinds };
  };
}

/** Redact one text (see makeRedactor). The input is never changed; the local log stays as written. */
export function redact(text: string, opts: RedactOptions = {}): Redaction {
  return makeRedactor(opts)(text);
}
