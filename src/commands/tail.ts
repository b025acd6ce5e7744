import { defineCommand } from "citty";
import { isAbsolute, relative, resolve } from "node:path";
import { commonArgs, givenSettingFlags, settingArgs } from "../cli/args.ts";
import { loadConfig } from "../core/config.ts";
import { Git } from "../core/git.ts";
import { usageError } from "../core/errors.ts";
import { runTail } from "../digest/tail.ts";
import { FdSink, FileSink, OutputClosed } from "../digest/sink.ts";
import type { DigestSource } from "../digest/discover.ts";

export default defineCommand({
  meta: {
    name: "orch tail",
    description:
      "Print the interleaved XML digest of both actors' recent turns: each log (or summary) with the stamp commit it left and ls snapshots of docs at that commit. Exit 2 no logs found (or bad usage), 4 nothing within --min-iter/--max-iter, 6 unknown role.",
  },
  args: {
    prefix: { type: "positional", description: "Log directory under the log dir: the branch name with / as - (a leading logs/ is accepted)", required: true },
    ...settingArgs("tail"),
    "min-iter": { type: "string", description: "Only iterations >= N", valueHint: "N" },
    "max-iter": { type: "string", description: "Only iterations <= N", valueHint: "N" },
    ls: { type: "boolean", default: true, description: "Add <ls> snapshots of --ls-paths at each stamp commit", negativeDescription: "Leave out the <ls> snapshots" },
    output: { type: "string", alias: "o", description: "Write the digest to FILE (replaced only when complete) instead of stdout", valueHint: "FILE" },
    ...commonArgs,
  },
  async run({ args }) {
    const minIter = wholeNumber(args["min-iter"], "--min-iter");
    const maxIter = wholeNumber(args["max-iter"], "--max-iter");
    const cwd = process.cwd();
    const top = await repositoryTop(cwd);
    const config = loadConfig({ dir: top ?? cwd, configPath: args.config, flags: givenSettingFlags("tail", args), command: "tail" });
    let repo;
    if (top) {
      const git = new Git({ cwd: top, timeoutMs: config.get<number>("git.timeout_sec") * 1000 });
      const stateSetting = config.get<string>("git.state_file");
      const stateRel = relative(top, isAbsolute(stateSetting) ? stateSetting : resolve(top, stateSetting)).split("\\").join("/");
      repo = {
        git,
        stateRel: stateRel.startsWith("..") || isAbsolute(stateRel) ? null : stateRel,
        remote: config.get<string>("git.remote"),
        branch: config.get<string>("git.branch") || null,
      };
    }
    const output = args.output ? resolve(cwd, String(args.output)) : null;
    try {
      await runTail(
        {
          prefix: String(args.prefix),
          count: config.get<number>("tail.count"),
          minIter,
          maxIter,
          ls: args.ls !== false,
          lsPaths: config.get<string[]>("tail.ls_paths"),
          source: config.get<DigestSource>("tail.source"),
          roles: config.get<string[]>("tail.roles"),
          maxLogBytes: config.get<number>("tail.max_log_bytes"),
          logDir: config.get<string>("logs.dir"),
          baseDir: top ?? cwd,
          repo,
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

/** The repository's top level, or null outside one (or without git): tail then simply skips annotation. */
async function repositoryTop(cwd: string): Promise<string | null> {
  try {
    const r = await new Git({ cwd }).run(["rev-parse", "--show-toplevel"], { allowFail: true });
    return r.code === 0 ? r.stdout.trim() : null;
  } catch {
    return null;
  }
}
