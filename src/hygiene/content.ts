/**
 * The content check every auto-commit step runs on a file before committing it
 * (SPEC §7): a well-known token shape keeps the file out. Said by path, kind
 * and line, never by value.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeHits, scanSecrets } from "../core/secrets.ts";

/**
 * Why this file's content must not be committed, or null. An unreadable file
 * is left to git (which then fails the commit, and nothing is published).
 */
export function contentSecretReason(top: string, path: string): string | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(top, path));
  } catch {
    return null;
  }
  const hits = scanSecrets(bytes);
  if (hits.length === 0) return null;
  return `holds what looks like a secret (${describeHits(hits)}; value not shown): never auto-committed; remove the secret, or commit the file yourself if it is not one`;
}
