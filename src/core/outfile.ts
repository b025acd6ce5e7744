/**
 * Where an output that replaces a file at the end (write a temporary file
 * beside it, then rename) may do so. Only a regular file, or no file yet, is
 * replaced that way. Anything else is written in place: renaming over a
 * device, a FIFO or a terminal would replace the node itself (run as root,
 * `-o /dev/null` would turn /dev/null into a regular file for the whole
 * machine). A symlink is followed, so the file it points to is replaced and
 * the link stays.
 */
import { lstatSync, realpathSync, statSync } from "node:fs";

export function replaceTarget(path: string): { path: string; inPlace: boolean } {
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch {
    return { path, inPlace: false }; // nothing there yet: create it by rename
  }
  let real: string;
  try {
    real = link ? realpathSync(path) : path;
  } catch {
    return { path, inPlace: true }; // a dangling link: write through it
  }
  return statSync(real).isFile() ? { path: real, inPlace: false } : { path: real, inPlace: true };
}
