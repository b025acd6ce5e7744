/**
 * `orch report --html` in headless Chromium (Debian's /usr/bin/chromium, driven
 * by playwright-core): renders without console errors, one bar per turn in each
 * actor's row, no network request, transcripts open and are escaped and capped.
 * Screenshots land in test/artifacts/ (not committed) for a person to look at.
 * No Chromium is a failure, never a skip: .ci/run installs it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT, makeWorld, sh } from "../helpers/world.ts";
import { buildNight, LOG, at } from "./night.ts";
import { heartbeat, iso, pushHeartbeat } from "./helpers.ts";
import type { Report } from "../../src/report/types.ts";
import { TRANSCRIPT_CAP_BYTES, readTranscripts } from "../../src/report/transcripts.ts";
import { Git } from "../../src/core/git.ts";

const CHROMIUM = process.env.ORCH_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test/artifacts");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const t0 = Math.floor(Date.now() / 60_000) * 60 - 5 * 3600;
const { world, clones } = makeWorld({ clones: 2 });
const [builder, reader] = [clones[0]!, clones[1]!];
buildNight(builder, t0);
pushHeartbeat(builder, "galph", heartbeat("galph", { phase: "waiting", iteration: 4, updated_at: iso(at(t0, 165)) }));
pushHeartbeat(builder, "ralph", heartbeat("ralph", { phase: "blocked", iteration: 4, updated_at: iso(at(t0, 170)), blocked_until: iso(at(t0, 400)), reason: "usage limit" }));

// This clone is machine A: galph's logs are here. Ralph's failure log came over the shipped-logs ref.
reader.write(LOG.galph1, `$ codex exec --json\n<script>window.__pwned = 1</script>\n\x1b[31mred\x1b[0m & done\n`);
reader.write(LOG.ralph2, "first line of a long log\n" + "x".repeat(200 * 1024) + "\nthe result line\n");
{
  const run = (args: string[], input?: string) => sh(["git", ...args], { cwd: reader.dir, env: world.env, input }).stdout.trim();
  const blob = run(["hash-object", "-w", "--stdin"], "$ claude -p\nshipped transcript of the failure\n");
  const sub = run(["mktree"], `100644 blob ${blob}\titer-00002_c_main.log\n`);
  const tree = run(["mktree"], `040000 tree ${sub}\tralph\n`);
  const commit = run(["commit-tree", tree, "-m", "logs"]);
  run(["update-ref", "refs/orch-remote/origin/logs/ralph/feature/x", commit]);
}

const page = join(world.root, "report.html");
const period = ["--since", iso(at(t0, -10)), "--until", iso(at(t0, 200))];
let report: Report;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does it in CI`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  mkdirSync(ARTIFACTS, { recursive: true });
  const r = reader.orch(["report", "--json", "--html", page, ...period]);
  expect(r.code).toBe(0);
  report = JSON.parse(r.stdout) as Report;
});
afterAll(async () => {
  await browser?.close();
});

/** Open the page, recording console errors, page errors, dialogs and every request but the page itself. */
async function open(viewport: { width: number; height: number }, url = `file://${page}`) {
  const p: Page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const requests: string[] = [];
  p.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  p.on("pageerror", (e) => errors.push(String(e)));
  p.on("dialog", (d) => errors.push(`dialog: ${d.message()}`));
  p.on("request", (req) => {
    if (req.url() !== url) requests.push(req.url());
  });
  await p.goto(url, { waitUntil: "load" });
  return { p, errors, requests };
}

describe("orch report --html", () => {
  test("the file is self-contained: no external script, style, font or link", () => {
    const html = readFileSync(page, "utf8");
    expect(html).not.toMatch(/\b(src|href)="(?!#)/);
    expect(html).not.toMatch(/@import|url\((?!#)/);
    expect(html).toContain("Content-Security-Policy");
    expect(html).not.toContain("<script>window.__pwned");
  });

  test("the request recorder sees requests (so 'none' below means none)", async () => {
    const p = await browser.newPage();
    const seen: string[] = [];
    p.on("request", (r) => seen.push(r.url()));
    await p.setContent(`<img src="http://127.0.0.1:9/x.png">`);
    await p.waitForTimeout(100);
    expect(seen.some((u) => u.startsWith("http://127.0.0.1:9/"))).toBe(true);
    await p.close();
  });

  test("renders at 1280x800 without console errors or requests, one bar per turn in each actor's row", async () => {
    const { p, errors, requests } = await open({ width: 1280, height: 800 });
    for (const actor of ["galph", "ralph"] as const) {
      const bars = await p.locator(`svg.timeline .row[data-actor="${actor}"] rect.turn`).count();
      expect(bars).toBe(report.turns.filter((t) => t.actor === actor).length);
      expect(bars).toBe(4);
    }
    expect(await p.locator("svg.timeline rect.turn.fail").count()).toBe(1);
    expect(await p.locator("svg.timeline rect.blocked").count()).toBe(1);
    expect(await p.locator("svg.timeline rect.retried").count()).toBe(2);
    expect(await p.locator("svg.timeline rect.open").count()).toBe(1); // ralph i=4 still running
    expect(await p.locator("table.turns tr.turn-row").count()).toBe(8);
    expect(await p.locator(".card[data-actor=ralph]").innerText()).toContain("blocked · on host-b");
    // no horizontal scrolling of the page itself at 1280 px
    expect(await p.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(1280);
    await p.screenshot({ path: join(ARTIFACTS, "report-1280x800.png") });
    await p.screenshot({ path: join(ARTIFACTS, "report-docs.png"), fullPage: true });
    expect(statSync(join(ARTIFACTS, "report-1280x800.png")).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await p.close();
  });

  test("a row opens its transcript: escaped, terminal codes removed, capped; the shipped log when it is not here", async () => {
    const { p, errors, requests } = await open({ width: 1280, height: 800 });
    const transcriptOf = async (iteration: number, actor: string, outcome: string) => {
      const row = p.locator(`tr.turn-row[data-outcome="${outcome}"]`, { has: p.locator(`td:nth-child(1):text-is("${iteration}")`) }).filter({ has: p.locator(`td:nth-child(2):text-is("${actor}")`) });
      expect(await row.count()).toBe(1);
      const panel = row.locator("xpath=following-sibling::tr[1]");
      expect(await panel.isVisible()).toBe(false);
      await row.click();
      expect(await panel.isVisible()).toBe(true);
      expect(await row.getAttribute("aria-expanded")).toBe("true");
      return panel.innerText();
    };
    const galph = await transcriptOf(1, "galph", "ok");
    expect(galph).toContain("<script>window.__pwned = 1</script>");
    expect(galph).toContain("red & done");
    expect(galph).not.toContain("\x1b");
    expect(await p.evaluate<unknown>("window.__pwned")).toBeUndefined();
    const long = await transcriptOf(2, "ralph", "ok");
    expect(long).toContain("first line of a long log");
    expect(long).toContain("the result line");
    expect(long).toMatch(/\d+ bytes left out/);
    expect(long.length).toBeLessThan(TRANSCRIPT_CAP_BYTES + 2000);
    expect(await transcriptOf(2, "ralph", "fail")).toContain("shipped transcript of the failure");
    expect(await transcriptOf(3, "ralph", "ok")).toContain("No log recorded");
    // a timeline bar links to its row and opens it
    await p.locator(`svg.timeline .row[data-actor="galph"] a`).last().click();
    expect(await p.locator("tr.turn-row[aria-expanded=true]").count()).toBe(5);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await p.close();
  });

  test("a log path that leaves the clone is never read; the shipped copy is looked up by file name only", async () => {
    writeFileSync(join(world.root, "secret.log"), "do not embed\n");
    const turn = { ...report.turns[0]!, log: "../secret.log" };
    const git = new Git({ cwd: reader.dir });
    const got = await readTranscripts(git, reader.dir, { remote: "origin", branch: "feature/x", roots: [reader.dir] }, [turn]);
    expect(got.size).toBe(0);
    const inside = await readTranscripts(git, reader.dir, { remote: "origin", branch: "feature/x", roots: [reader.dir] }, [{ ...turn, log: LOG.galph1 }]);
    expect(inside.get(turn.stamp_commit)).toMatchObject({ source: "local", omitted: 0 });
  });

  test("readable on a phone: cards stack, the pictures scroll inside their box", async () => {
    const { p, errors, requests } = await open({ width: 390, height: 844 });
    expect(await p.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    const cards = await p.locator(".card").evaluateAll((els) => els.map((e) => (e as unknown as { getBoundingClientRect(): { top: number } }).getBoundingClientRect().top));
    expect(cards[1]!).toBeGreaterThan(cards[0]!);
    await p.screenshot({ path: join(ARTIFACTS, "report-phone.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await p.close();
  });
});
