import { defineCommand } from "citty";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { branchDir } from "../core/repo.ts";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { gatherReport } from "../report/gather.ts";
import { renderText } from "../report/text.ts";
import { renderHtml } from "../report/html.ts";
import { readTranscripts, TRANSCRIPT_MAX_TURNS } from "../report/transcripts.ts";
import { openInBrowser, writeFileAtomic } from "../report/output.ts";
import { PERIOD_FORMS } from "../report/period.ts";
import { VERSION } from "../version.ts";
import type { CommandHelp } from "./_help.ts";

export const help: CommandHelp = {
  description:
    "What happened in a period: turns per actor (ok, failed, retried, durations, usage-limit waits, handovers, cost, tokens), failures with reasons and logs, code vs docs per cycle, stalemates, and both machines' heartbeats. Reads the branch's stamp receipts with one git log; fetches the branch and the heartbeats first (--no-fetch stays local). Runs from any clone, outside a turn.",
  groups: { since: "Period", until: "Period", json: "Output", html: "Output", open: "Output", fetch: "Period" },
  examples: [
    ["orch report", "The last 24 hours, on one screen"],
    ["orch report --since 7d --json > week.json", "A week of facts for a script (fields in docs/report.md)"],
    ["orch report --since 2026-12-01T00:00Z --html night.html --open", "A web page with a timeline, a chart and every turn's transcript"],
  ],
  exits: [
    [0, "the report is printed (or written)"],
    [1, "git failure reading the history"],
    [2, "bad --since/--until, bad usage or orch.toml"],
  ],
};

export default defineCommand({
  meta: { name: "orch report" },
  args: {
    since: { type: "string", description: `Start of the period: ${PERIOD_FORMS} [default: 24h]`, valueHint: "DURATION|TIME" },
    until: { type: "string", description: "End of the period, same forms [default: now]", valueHint: "DURATION|TIME" },
    json: { type: "boolean", description: "Print the facts as one JSON object (fields in docs/report.md)" },
    html: { type: "string", description: "Also write a self-contained web page (timeline, chart, turns with transcripts) to FILE", valueHint: "FILE" },
    open: { type: "boolean", description: "Open the page in a browser (xdg-open/open); without --html it is written to the temporary directory" },
    fetch: { type: "boolean", default: true, description: "Fetch the branch and the heartbeats first", negativeDescription: "Read local refs only" },
    ...settingArgs("report"),
    ...commonArgs,
  },
  async run({ args }) {
    const g = await gatherReport({
      configPath: args.config,
      flags: givenSettingFlags("report", args),
      since: args.since === undefined ? undefined : String(args.since),
      until: args.until === undefined ? undefined : String(args.until),
      fetch: args.fetch !== false,
      warn: (line) => process.stderr.write(`orch: note: ${line}\n`),
    });
    const { report } = g;
    const htmlPath = args.html ? resolve(String(args.html)) : args.open ? join(tmpdir(), `orch-report-${branchDir(report.branch)}.html`) : null;
    if (htmlPath) {
      const transcripts = await readTranscripts(g.git, g.top, { remote: g.remote, branch: g.branch, roots: g.logRoots }, report.turns);
      writeFileAtomic(htmlPath, renderHtml(report, transcripts, { version: VERSION, transcriptTurns: TRANSCRIPT_MAX_TURNS }));
      process.stderr.write(`orch: wrote ${htmlPath}\n`);
    }
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + "\n" : renderText(report, { color }));
    if (htmlPath && args.open) {
      const note = openInBrowser(htmlPath);
      if (note) process.stderr.write(`orch: ${note}\n`);
    }
    return 0;
  },
});
