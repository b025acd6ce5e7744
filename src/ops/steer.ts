/**
 * `orch pause|resume|stop|nudge`: a person's change to the control document
 * (SPEC §15), published from any clone of the remote. No checked-out shared
 * branch is needed and nothing of the clone's own is touched: only orch's refs.
 */
import { openRepo } from "../core/repo.ts";
import { usageError } from "../core/errors.ts";
import { hostName } from "../core/identity.ts";
import { isoUtc, type Actor } from "../core/state.ts";
import { NUDGE_MAX_BYTES, STOP_REASON_MAX, newNudgeId, type ControlChange } from "../channel/control.ts";
import { updateControl, type ControlUpdate } from "../channel/control-push.ts";
import { controlRef } from "../channel/names.ts";

export type SteerCommand = "pause" | "resume" | "stop" | "nudge";

export interface SteerOptions {
  command: SteerCommand;
  configPath?: string;
  flags: Record<string, string | boolean>;
}

/** The actors an optional ACTOR argument means: both without one. */
export function actorsOf(arg: string | undefined): Actor[] {
  if (arg === undefined || arg === "") return ["galph", "ralph"];
  return [requireActor(arg)];
}

export function requireActor(arg: string): Actor {
  if (arg === "galph" || arg === "ralph") return arg;
  throw usageError(`actor must be galph or ralph, got '${arg}'`);
}

/** Open the clone, build the change (with this host and time), publish it. */
async function publish(opts: SteerOptions, make: (who: { at: string; by: string }) => ControlChange): Promise<{ update: ControlUpdate; where: string }> {
  const repo = await openRepo({ command: opts.command, configPath: opts.configPath, flags: opts.flags, branch: "optional", interactive: true });
  const change = make({ at: isoUtc(new Date()), by: hostName() });
  const update = await updateControl(repo.git, repo.remote, repo.branch, change);
  return { update, where: `${repo.remote} ${controlRef(repo.branch)}` };
}

function outcome(update: ControlUpdate, where: string): string {
  return update.changed ? `control seq ${update.doc.seq}, pushed to ${where}` : `control seq ${update.doc.seq} on ${where}; nothing to publish`;
}

const verbs = (actors: readonly Actor[], one: string, many: string) => `${actors.join(" and ")} ${actors.length > 1 ? many : one}`;

export async function pause(opts: SteerOptions, actor: string | undefined): Promise<string> {
  const actors = actorsOf(actor);
  const { update, where } = await publish(opts, () => ({ kind: "pause", actors }));
  const next = update.changed ? `; ${verbs(actors, "finishes its current turn, then waits", "finish their current turns, then wait")} until orch resume` : "";
  return `${update.summary} (${outcome(update, where)})${next}`;
}

/** Without an actor, resume also clears a stop (runners that saw it have ended; started again, they ignore it anyway). */
export async function resume(opts: SteerOptions, actor: string | undefined): Promise<string> {
  const actors = actorsOf(actor);
  const { update, where } = await publish(opts, () => ({ kind: "resume", actors, clearStop: actor === undefined }));
  const next = update.changed && update.summary.startsWith("resumed") ? `; ${verbs(actors, "takes its turns again", "take their turns again")}` : "";
  return `${update.summary} (${outcome(update, where)})${next}`;
}

/** One line of at most STOP_REASON_MAX characters (it ends up in `Exiting: <reason>`). */
export function stopReason(given: string | undefined, by: string): string {
  if (given === undefined) return `orch stop from ${by}`;
  const reason = given.replace(/\s+/g, " ").trim();
  if (!reason) throw usageError("--reason is empty; say why the pair stops, or leave --reason out");
  if (reason.length > STOP_REASON_MAX) throw usageError(`--reason is ${reason.length} characters; keep it under ${STOP_REASON_MAX}`);
  return reason;
}

export async function stop(opts: SteerOptions, reasonArg: string | undefined): Promise<string> {
  const reason = stopReason(reasonArg, hostName());
  const { update, where } = await publish(opts, (who) => ({ kind: "stop", reason, ...who }));
  return `${update.summary} (${outcome(update, where)}); both runners exit after their current turn`;
}

/**
 * The nudge text from the argument or a file (`-` = stdin): UTF-8, not empty,
 * at most NUDGE_MAX_BYTES. Trailing whitespace is dropped.
 */
export async function nudgeText(text: string | undefined, file: string | undefined): Promise<string> {
  if (text !== undefined && file !== undefined) throw usageError("give the nudge as TEXT or with --file, not both");
  if (text === undefined && file === undefined) throw usageError("missing the nudge: orch nudge ACTOR TEXT, or orch nudge ACTOR --file F (- reads stdin)");
  let bytes: Uint8Array;
  if (file !== undefined) {
    try {
      bytes = await readCapped(file === "-" ? Bun.stdin.stream() : Bun.file(file).stream(), NUDGE_MAX_BYTES * 4);
    } catch (e) {
      throw usageError(`cannot read the nudge file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    }
  } else bytes = new TextEncoder().encode(text!);
  const tooLong = (size: string) =>
    usageError(`the nudge is ${size} bytes; keep it under ${NUDGE_MAX_BYTES / 1024} KiB (a nudge is a note for the next turn; longer guidance belongs in the prompt or input.md)`);
  if (bytes.length > NUDGE_MAX_BYTES * 4) throw tooLong(`over ${NUDGE_MAX_BYTES * 4}`);
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw usageError(`the nudge${file !== undefined ? ` in ${file}` : ""} is not UTF-8 text`);
  }
  const trimmed = decoded.replace(/^\uFEFF/, "").trimEnd();
  if (!trimmed.trim()) throw usageError(`the nudge${file !== undefined ? ` in ${file}` : ""} is empty; say what the actor should know`);
  const size = new TextEncoder().encode(trimmed).length;
  if (size > NUDGE_MAX_BYTES) throw tooLong(String(size));
  return trimmed;
}

/** A stream's bytes, at most `cap` of them (the size check follows; a huge file or pipe is never read whole). */
async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > cap) break;
  }
  return Buffer.concat(chunks).subarray(0, Math.min(size, cap + 1));
}

/** `focus on the failing test`, or its first line cut at 60 characters with `…`. */
export function preview(text: string, max = 60): string {
  const lines = text.trim().split("\n");
  const first = lines[0]!.trim();
  const cut = first.length > max ? `${first.slice(0, max - 1)}…` : first;
  return lines.length > 1 && !cut.endsWith("…") ? `${cut} …` : cut;
}

export async function nudge(opts: SteerOptions, actorArg: string, textArg: string | undefined, file: string | undefined): Promise<string> {
  const actor = requireActor(actorArg);
  const text = await nudgeText(textArg, file);
  const id = newNudgeId();
  const { update, where } = await publish(opts, (who) => ({ kind: "nudge", nudge: { id, actor, text, ...who } }));
  return `nudge ${id} for ${actor} queued: "${preview(text)}" (delivered with ${actor}'s next turn; ${outcome(update, where)})`;
}
