/**
 * Secrets the soak plants in every agent run (printed into orch's logs, left
 * in ignored scratch files), and the scan that proves none of them reached the
 * remote: every object reachable from every ref (the branch, refs/orch/*, any
 * obsolete branch someone pushed) is read once through `git cat-file --batch`.
 *
 * The values are drawn from the soak's seed at run time, so no token-shaped
 * literal sits in the repository (forges' push protection and orch's own
 * hygiene scan for them).
 */
import type { Rng } from "./rng.ts";
import { sh } from "./world.ts";

export interface Planted {
  /** What each value is, for messages (a message never quotes the value itself). */
  kind: string;
  value: string;
}

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const draw = (rng: Rng, alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[rng.int(0, alphabet.length - 1)]).join("");

/** The planted list: what the fake agent prints ($SOAK_PLANTED) and the secret env value ($SOAK_API_TOKEN). */
export function plantSecrets(rng: Rng): { printed: Planted[]; envToken: Planted; keyBlock: string } {
  const keyLines = [draw(rng, ALNUM, 64), draw(rng, ALNUM, 64)];
  const keyBlock = ["-----BEGIN " + "RSA PRIVATE KEY-----", ...keyLines, "-----END " + "RSA PRIVATE KEY-----"].join("\n");
  return {
    printed: [
      { kind: "AWS access key id", value: "AK" + "IA" + draw(rng, UPPER, 16) },
      { kind: "GitHub token", value: "gh" + "p_" + draw(rng, ALNUM, 36) },
      ...keyLines.map((value, i) => ({ kind: `private key line ${i + 1}`, value })),
    ],
    envToken: { kind: "value of $SOAK_API_TOKEN", value: `soak-${draw(rng, ALNUM, 28)}` },
    keyBlock,
  };
}

/** The environment that plants them: the agent prints these (the key block as one multi-line value). */
export function plantedEnv(p: ReturnType<typeof plantSecrets>): Record<string, string> {
  const printed = [p.printed[0]!.value, p.printed[1]!.value, p.keyBlock];
  return { SOAK_PLANTED: JSON.stringify(printed), SOAK_API_TOKEN: p.envToken.value };
}

export interface Leak {
  kind: string;
  object: string;
  type: string;
  /** The path the object was reached by (blobs and trees), when rev-list names one. */
  path: string;
}

/**
 * Every planted value found in any object reachable from any ref of `repo`
 * (commits and their messages, trees, blobs). Also returns how many objects
 * and bytes were read, so a scan that read nothing can be told from a clean one.
 */
export function scanRefs(repo: string, env: Record<string, string>, planted: Planted[]): { leaks: Leak[]; objects: number; bytes: number } {
  const list = sh(["git", "rev-list", "--objects", "--all"], repo, env);
  if (list.code !== 0) throw new Error(`git rev-list --objects --all failed in ${repo}: ${list.stderr.trim()}`);
  const entries = list.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => ({ sha: l.slice(0, 40), path: l.slice(41) }));
  const leaks: Leak[] = [];
  if (entries.length === 0) return { leaks, objects: 0, bytes: 0 };
  const batch = Bun.spawnSync(["git", "cat-file", "--batch"], { cwd: repo, env, stdin: Buffer.from(entries.map((e) => e.sha + "\n").join("")), stdout: "pipe", stderr: "pipe" });
  if (batch.exitCode !== 0) throw new Error(`git cat-file --batch failed in ${repo}: ${batch.stderr.toString()}`);
  const out = batch.stdout;
  const needles = planted.map((p) => ({ kind: p.kind, bytes: Buffer.from(p.value) }));
  let pos = 0;
  let bytes = 0;
  for (const e of entries) {
    const nl = out.indexOf(10, pos);
    const [sha, type, sizeText] = out.subarray(pos, nl).toString().split(" ");
    pos = nl + 1;
    if (type === "missing" || sizeText === undefined) continue;
    const size = Number(sizeText);
    const body = out.subarray(pos, pos + size);
    pos += size + 1;
    bytes += size;
    for (const n of needles) if (body.indexOf(n.bytes) >= 0) leaks.push({ kind: n.kind, object: sha!, type: type!, path: e.path });
  }
  return { leaks, objects: entries.length, bytes };
}
