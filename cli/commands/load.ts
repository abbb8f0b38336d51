import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { labConfig } from '../../lab/config.ts';
import { answers } from '../../lab/lifecycle/http-get.ts';
import { proxyHealthUrl } from '../../lab/lifecycle/proxy-tier.ts';
import { labPaths } from '../../lab/lifecycle/state-paths.ts';
import { formatLoadSummary } from '../../lab/load/format-load-summary.ts';
import { formatLoadFailures, loadFailures } from '../../lab/load/load-failures.ts';
import { parseTargetKnobs, type MixName } from '../../lab/load/mixes.ts';
import { runLoad, type LoadOptions } from '../../lab/load/run-load.ts';
import type { Invocation } from '../parse-args.ts';

/** The runLoad options a `lab load` (or `lab trace`) invocation asks for; throws a one-line error for a bad --knob. */
export function loadOptionsFrom(inv: Invocation, progress?: (line: string) => void): LoadOptions {
  const cfg = labConfig();
  const o = inv.options;
  const knobs = typeof o.knob === 'string' ? parseTargetKnobs(o.knob) : {};
  if (typeof knobs === 'string') throw new Error(knobs);
  return {
    url: `http://${cfg.host}:${cfg.proxyPort}`,
    durationS: o.duration as number | undefined,
    requests: o.requests as number | undefined,
    connections: (o.connections as number | undefined) ?? 10,
    mix: ((o.mix as string | undefined) ?? 'default') as MixName,
    rate: o.rate as number | undefined,
    knobs,
    latencyOut: (o['latency-out'] as string | undefined) ?? labPaths(cfg).lastLoad,
    progress,
  };
}

/**
 * `lab load`: drive the mix through the proxy; summary as a table, or JSON with --json. Exit
 * status 1 when any request failed (a 5xx, a connection error or a timeout), naming the counts.
 */
export async function run(inv: Invocation): Promise<number> {
  const cfg = labConfig();
  if (!(await answers(proxyHealthUrl(cfg), 2000))) {
    process.stderr.write(`lab load: the lab does not answer at ${proxyHealthUrl(cfg)}; run 'lab up' first\n`);
    return 1;
  }
  const opts = loadOptionsFrom(inv, (line) => process.stderr.write(`lab load: ${line}\n`));
  if (!writable(opts.latencyOut)) {
    process.stderr.write(`lab load: cannot write ${opts.latencyOut} (permission denied): choose a file with --latency-out FILE\n`);
    return 1;
  }
  const summary = await runLoad(opts);
  process.stdout.write((inv.options.json ? JSON.stringify(summary) : formatLoadSummary(summary)) + '\n');
  const failures = formatLoadFailures(loadFailures(summary));
  if (failures === null) return 0;
  process.stderr.write(`lab load: ${failures}\n`);
  return 1;
}

/** Whether this user may create or replace `path` (checked before a load, not after it). */
function writable(path: string): boolean {
  try {
    accessSync(existsSync(path) ? path : dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
