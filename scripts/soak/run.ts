/**
 * One soak: build the world, keep both runners going, inject the planned faults,
 * then check every invariant from the remote's history and collect the figures.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkSoak } from "./check.ts";
import { checkSide } from "./check-side.ts";
import { plantedEnv, plantSecrets, scanRefs } from "./planted.ts";
import { collectFigures, type Figures } from "./figures.ts";
import { Injector, planFaults, type Fault, type FaultKind } from "./faults.ts";
import { readHistory, readSide } from "./history.ts";
import { Monitor } from "./monitor.ts";
import { Rng } from "./rng.ts";
import { Runners, tail } from "./runners.ts";
import { ROOT, SoakWorld, STATE_REL } from "./world.ts";

export interface SoakOptions {
  iterations: number;
  faults: number;
  seed: number;
  orchBin?: string;
  /** Shorter outages and lock holds (the short soak inside `make test`). */
  quick?: boolean;
  /** Keep the temporary world even when everything holds. */
  keep?: boolean;
  /** Only these fault kinds (default: all). */
  kinds?: readonly FaultKind[];
  /** Give up after this long (default: generous, from iterations and faults). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  ok: boolean;
  seed: number;
  violations: string[];
  figures: Figures;
  /** The world directory when kept (failures keep it for inspection). */
  kept: string | null;
  plan: Fault[];
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const stamp = (line: string) => log(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  const orchBin = resolve(opts.orchBin ?? process.env.ORCH_BIN ?? join(ROOT, "dist/orch"));
  if (!existsSync(orchBin)) throw new Error(`${orchBin} not found; run make build first`);
  const rng = new Rng(opts.seed);
  const plan = planFaults(rng.fork(), opts.faults, opts.iterations, opts.quick ?? false, opts.kinds);
  const byId = new Map(plan.map((f) => [f.id, f]));
  const planted = plantSecrets(rng.fork());
  const world = new SoakWorld({ orchBin, env: plantedEnv(planted) });
  stamp(`world ${world.root}; ${opts.iterations} iterations, ${plan.length} faults planned, seed ${opts.seed}`);
  const monitor = new Monitor(world);
  const runners = new Runners(world, rng.fork(), {
    orchBin,
    target: opts.iterations,
    pollInterval: 0.05,
    maxWaitSec: 180,
    recoveryFor: (id) => byId.get(id)?.recovery ?? "rerun",
    log: stamp,
  });
  const injector = new Injector(world, runners, monitor, t0, stamp, orchBin);
  const violations: string[] = [];
  const timeoutMs = opts.timeoutMs ?? 120_000 + opts.iterations * 5_000 + opts.faults * 20_000;

  monitor.start();
  const finished = () => runners.done.galph && runners.done.ralph;
  const keeping = runners.start();
  const injecting = injector.run(plan, finished);
  let outcome: "done" | "timeout" | "fatal" = "done";
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  for (;;) {
    if (finished()) break;
    if (runners.fatal || injector.failure) {
      outcome = "fatal";
      break;
    }
    if (Date.now() > deadline) {
      outcome = "timeout";
      break;
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      stamp(`progress: ${monitor.syncCount} [SYNC commits, ${injector.records.filter((r) => r.injected).length} faults so far`);
    }
    await Bun.sleep(50);
  }
  injector.stop();
  if (outcome !== "done") {
    if (runners.fatal) violations.push(runners.fatal);
    if (injector.failure) violations.push(injector.failure);
    if (outcome === "timeout") violations.push(`the soak did not finish within ${Math.round(timeoutMs / 1000)}s`);
    for (const a of ["galph", "ralph"] as const) {
      const g = runners.current[a];
      if (g) violations.push(`${g.author} ${g.exit ? `had exited ${g.exit.signal ?? g.exit.code}` : "was still running"}; stdout ends: ${tail(g.stdoutPath, 4).replace(/\n/g, " | ")}; stderr ends: ${tail(g.stderrPath, 4).replace(/\n/g, " | ")}`);
    }
    await runners.stop();
  }
  await Promise.race([Promise.all([keeping, injecting]), Bun.sleep(10_000)]);
  monitor.stop();
  if (world.remoteIsAway) world.bringRemoteBack();

  const history = readHistory(world.remote, world.branch, world.env("soak"), { stateRel: STATE_REL, finalFiles: ["runs/galph.txt", "runs/ralph.txt"] });
  const gens = runners.info();
  const check = checkSoak({ history, target: opts.iterations, gens, stateRel: STATE_REL });
  violations.push(...check.violations);
  const secrets = [...planted.printed, planted.envToken];
  const scan = scanRefs(world.remote, world.env("soak"), secrets);
  const side = checkSide({ history, side: readSide(world.remote, world.branch, world.env("soak")), gens, events: world.readEvents(), scan });
  violations.push(...side.violations, ...injector.violations);
  // The scan proves something only if the secrets did go through orch's logs: each must be in a local log.
  const localLogs = readTree(join(world.clones.galph, "logs")) + readTree(join(world.clones.ralph, "logs"));
  for (const p of secrets) if (!localLogs.includes(p.value)) violations.push(`planted secret (${p.kind}) never reached a local log: the secret scan proves nothing`);
  const injected = injector.records.filter((r) => r.injected).length;
  if (outcome === "done" && injected < opts.faults) violations.push(`only ${injected} of ${opts.faults} faults were injected`);
  const figures = collectFigures({
    seed: opts.seed,
    iterations: opts.iterations,
    faultsPlanned: plan.length,
    records: injector.records,
    stats: check.stats,
    side: side.stats,
    splitBrain: injector.splitBrain,
    restarts: runners.restarts,
    humanStamps: runners.humanStamps,
    rerunsAfterFailure: runners.rerunsAfterFailure,
    maxRecoveryAfterOutageMs: injector.maxRecoveryAfterOutageMs,
    peakRssKb: Math.max(0, ...runners.gens.map((g) => g.rssPeakKb)),
    runtimeMs: Date.now() - t0,
  });
  const ok = violations.length === 0;
  let kept: string | null = null;
  if (ok && !opts.keep) world.cleanup();
  else kept = world.root;
  return { ok, seed: opts.seed, violations, figures, kept, plan };
}

/** Every regular file's text under dir, concatenated (the local logs; small in a soak). */
function readTree(dir: string): string {
  if (!existsSync(dir)) return "";
  let text = "";
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) text += readTree(path);
    else if (st.isFile()) text += readFileSync(path, "utf8");
  }
  return text;
}
