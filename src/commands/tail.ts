import { defineCommand } from "citty";
import { resolve } from "node:path";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { join } from "node:path";
import type { CommandHelp } from "./_help.ts";
import { branchDir, openRepoOrDir, type Clone } from "../core/repo.ts";
import { errorMessage, usageError } from "../core/errors.ts";
import { RemoteBranchMissing } from "../core/sync.ts";
import { RemoteWatch } from "../channel/watch.ts";
import { peerLogImporter } from "../channel/logs.ts";
import { runTail } from "../digest/tail.ts";
import { FdSink, FileSink, OutputClosed } from "../digest/sink.ts";
import type { DigestSource } from "../digest/discover.ts";

export const help: CommandHelp = {
  description:
    "Print an XML digest of the last turns of both actors, oldest first: for each iteration galph's log, then ralph's (or their summaries), each with the stamp commit its turn left and a listing of docs/, plans/ and reports/ at that commit. Always well-formed XML 1.0, for pasting into a reviewer's context. PREFIX is the branch name with every / as - (logs of feature/x are in logs/feature-x/); feature/x and logs/feature-x work too. Outside a repository it prints the logs without commits.",
  groups: { "min-iter": "Digest", "max-iter": "Digest", ls: "Digest", fetch: "Digest", output: "Output" },
  examples: [
    ["orch tail feature-x", "The last 5 iterations of feature/x, both roles"],
    ["orch tail feature-x -n 3 --source summaries", "The agents' summaries of the last 3 iterations"],
    ["orch tail feature-x -n 0 --no-ls -o all-turns.xml", "Every iteration, without listings, into a file (replaced only when complete)"],
  ],
  exits: [
    [0, "the digest was printed (also when the reader stops early: orch tail … | head)"],
    [1, "git or runtime failure"],
    [2, "no logs found under <logdir>/<PREFIX>/<role>, or bad usage"],
    [4, "no iteration within --min-iter/--max-iter"],
    [6, "unknown role in --roles (valid: galph, ralph)"],
  ],
};

export default defineCommand({
  meta: { name: "orch tail" },
  args: {
    prefix: { type: "positional", description: "Log directory under the log dir: the branch name with / as - (a leading logs/ is accepted)", required: true },
    ...settingArgs("tail"),
    "min-iter": { type: "string", description: "Only iterations >= N", valueHint: "N" },
    "max-iter": { type: "string", description: "Only iterations <= N", valueHint: "N" },
    ls: { type: "boolean", default: true, description: "Add <ls> snapshots of --ls-paths at each stamp commit", negativeDescription: "Leave out the <ls> snapshots" },
    fetch: { type: "boolean", default: true, description: "First fetch the actors' shipped logs from the remote (refs/orch/logs/…) into the log dir", negativeDescription: "Use only the logs already here" },
    output: { type: "string", alias: "o", description: "Write the digest to FILE (replaced only when complete) instead of stdout", valueHint: "FILE" },
    ...commonArgs,
  },
  async run({ args }) {
    const minIter = wholeNumber(args["min-iter"], "--min-iter");
    const maxIter = wholeNumber(args["max-iter"], "--max-iter");
    // Outside a repository (a copied log dir) the digest simply has no annotation.
    // A person is waiting: a dead network should cost seconds, not minutes of retries.
    const place = await openRepoOrDir({ command: "tail", configPath: args.config, flags: givenSettingFlags("tail", args), branch: "none", interactive: true });
    const { config } = place;
    if (place.inRepo && args.fetch !== false) await fetchShippedLogs(place, String(args.prefix));
    const output = args.output ? resolve(process.cwd(), String(args.output)) : null;
    try {
      await runTail(
        {
          prefix: String(args.prefix),
          count: config.get("tail.count"),
          minIter,
          maxIter,
          ls: args.ls !== false,
          lsPaths: config.get("tail.ls_paths"),
          source: config.get("tail.source") as DigestSource,
          roles: config.get("tail.roles"),
          maxLogBytes: config.get("tail.max_log_bytes"),
          logDir: config.get("logs.dir"),
          baseDir: place.top,
          repo: place.inRepo ? { git: place.git, stateRel: place.stateRel, remote: place.remote, branch: place.branch } : undefined,
        },
        () => (output ? new FileSink(output) : new FdSink(1)),
      );
    } catch (e) {
      if (e instanceof OutputClosed) return 0; // `orch tail … | head`: the reader has what it wanted
      throw e;
    }
    return 0;
  },
});

function wholeNumber(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) throw usageError(`${flag}: expected a whole number >= 0, got '${String(value)}'`);
  return Number(text);
}

/**
 * Both machines' logs everywhere: the shipped logs of both actors are written
 * into the local log dir (never over a local file) before the digest is
 * built. PREFIX names the branch (its log folder `feature-x`, or `feature/x`);
 * another branch than the checked-out one is found among the remote's log
 * refs. Trouble reaching the remote is a note, not a failure: the local logs
 * still make a digest. A clone without the remote has nothing to fetch.
 */
async function fetchShippedLogs(place: Clone, prefix: string): Promise<void> {
  if ((await place.git.remoteUrl(place.remote)) === null) return;
  const wanted = branchDir(prefix);
  let branch = place.branch && branchDir(place.branch) === wanted ? place.branch : null;
  try {
    branch ??= await branchOfLogRefs(place, wanted);
  } catch (e) {
    process.stderr.write(`orch: note: could not list the shipped logs (${errorMessage(e)}); using the logs already here (--no-fetch skips this)\n`);
    return;
  }
  if (!branch) return;
  const dir = join(place.logDir, branchDir(branch));
  const watch = new RemoteWatch({ git: place.git, remote: place.remote, branch, stateRel: place.stateRel, onLogs: peerLogImporter(place.git, place.top, dir, (line) => process.stderr.write(`orch: note: ${line}\n`)) });
  try {
    await watch.look({ force: true });
  } catch (e) {
    if (e instanceof RemoteBranchMissing) return;
    process.stderr.write(`orch: note: could not fetch the shipped logs (${errorMessage(e)}); using the logs already here (--no-fetch skips this)\n`);
  }
}

/** The one branch whose log refs on the remote (`refs/orch/logs/<actor>/<branch>`) file under the log folder `dir`; null when none or several do. */
async function branchOfLogRefs(place: Clone, dir: string): Promise<string | null> {
  const refs = await place.git.lsRemoteRefs(place.remote, ["refs/orch/logs/*"]);
  const branches = new Set<string>();
  for (const ref of refs.keys()) {
    const m = /^refs\/orch\/logs\/(?:galph|ralph)\/(.+)$/.exec(ref);
    if (m && branchDir(m[1]!) === dir) branches.add(m[1]!);
  }
  return branches.size === 1 ? [...branches][0]! : null;
}
