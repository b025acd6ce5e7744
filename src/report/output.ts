/** Writing the HTML page and opening it: the report's only side effects outside git. */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { replaceTarget } from "../core/outfile.ts";
import { basename, dirname, join } from "node:path";
import { OrchError, Exit } from "../core/errors.ts";

/**
 * Replace FILE only when the page is complete (temporary file beside it, fsync, rename): kill -9
 * leaves the old page or none. A FILE that is not a regular file (/dev/null, a FIFO) is written in
 * place (core/outfile.ts).
 */
export function writeFileAtomic(path: string, text: string): void {
  const target = replaceTarget(path);
  if (target.inPlace) {
    try {
      writeFileSync(target.path, text);
    } catch (e) {
      throw new OrchError(Exit.usage, `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; choose a writable --html path`);
    }
    return;
  }
  path = target.path;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "w", 0o644);
  } catch (e) {
    throw new OrchError(Exit.usage, `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; choose a writable --html path`);
  }
  try {
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {}
    try {
      unlinkSync(tmp);
    } catch {}
    throw new OrchError(Exit.runtime, `cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Open a file in the desktop's browser without waiting for it; a note (not an error) when this host has no opener. */
export function openInBrowser(path: string): string | null {
  const opener = process.platform === "darwin" ? Bun.which("open") : (Bun.which("xdg-open") ?? Bun.which("open"));
  if (!opener) return `--open: no xdg-open or open on this host; open ${path} in a browser`;
  try {
    const child = Bun.spawn([opener, path], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    child.unref();
    return null;
  } catch (e) {
    return `--open: could not run ${opener} (${(e as Error).message}); open ${path} in a browser`;
  }
}
