import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labConfig } from '../../lab/config.ts';
import { labIsUp, labStatus } from '../../lab/lifecycle/lab-status.ts';
import { labUp } from '../../lab/lifecycle/lab-up.ts';
import { labPaths } from '../../lab/lifecycle/state-paths.ts';
import { parseAccessLog } from '../../lab/nginx/parse-access-log.ts';
import { formatLoadSummary } from '../../lab/load/format-load-summary.ts';
import { formatRequestJourney, typicalObservation } from '../../lab/load/request-journey.ts';
import { runLoad } from '../../lab/load/run-load.ts';
import type { ClientObservation } from '../../shared/capture-types.ts';
import type { CommandModule } from '../main.ts';
import { parseArguments, type Invocation } from '../parse-args.ts';

const DEMO_REQUESTS = 200;
const COMMANDS_DIR = dirname(fileURLToPath(import.meta.url));
const say = (line: string): void => {
  process.stderr.write(`lab demo: ${line}\n`);
};

async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseArguments(argv);
  if (!parsed.ok) throw new Error(parsed.error);
  const mod = (await import(join(COMMANDS_DIR, `${parsed.value.command}.ts`))) as CommandModule;
  say(`lab ${argv.join(' ')}`);
  return mod.run(parsed.value);
}

/** Without the tracer: an untraced load, then one typical request as the client, proxy and app saw it. */
async function loadAndJourney(): Promise<number> {
  const cfg = labConfig();
  const paths = labPaths(cfg);
  say(`lab load --requests ${DEMO_REQUESTS}`);
  const summary = await runLoad({
    url: `http://${cfg.host}:${cfg.proxyPort}`,
    requests: DEMO_REQUESTS,
    connections: 4,
    mix: 'default',
    latencyOut: paths.lastLoad,
    progress: say,
  });
  process.stdout.write(formatLoadSummary(summary) + '\n\n');
  const observations = readFileSync(paths.lastLoad, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ClientObservation);
  const pick = typicalObservation(observations.filter((o) => o.path.startsWith('/api/')));
  if (pick === null) {
    process.stderr.write('lab demo: the load produced no responses\n');
    return 1;
  }
  const access = existsSync(paths.accessLog) ? parseAccessLog(readFileSync(paths.accessLog, 'utf8')).entries.find((e) => e.requestId === pick.requestId) : undefined;
  const appLines = existsSync(paths.appLog)
    ? readFileSync(paths.appLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes(pick.requestId))
    : [];
  process.stdout.write('A typical request (median latency):\n' + formatRequestJourney(pick, access ?? null, appLines) + '\n');
  return 0;
}

/**
 * `lab demo`: bring the lab up if needed, run a short load, show one request. With the tracer
 * available (`lab trace` and `lab show`), the load is traced and one trace tree is shown.
 */
export async function run(_inv: Invocation): Promise<number> {
  const cfg = labConfig();
  const status = labStatus(cfg, () => null);
  if (!labIsUp(status)) {
    say('bringing the lab up');
    await labUp(cfg, { progress: say });
  } else {
    say(`lab already up (${status.proxy.kind} on 127.0.0.1:${cfg.proxyPort})`);
  }
  const canTrace = existsSync(join(COMMANDS_DIR, 'trace.ts')) && existsSync(join(COMMANDS_DIR, 'show.ts'));
  if (!canTrace) return loadAndJourney();

  const dir = join(cfg.stateDir, 'captures', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dirname(dir), { recursive: true });
  // The demo shows every layer, PostgreSQL's phases included (opt-in for their cost in `lab trace`).
  const pgPhases = labStatus(cfg, () => null).postgres.usdt !== false ? ['--families', '+postgres'] : [];
  const traced = await runCommand(['trace', '--requests', String(DEMO_REQUESTS), '--connections', '4', ...pgPhases, '--out', dir]);
  if (traced !== 0) {
    say(`lab trace failed (exit ${traced}); showing the untraced view instead`);
    await loadAndJourney();
    return traced;
  }
  const shown = await runCommand(['show', dir, '--slowest', '1', '--waterfall']);
  if (shown === 0) say(`capture kept in ${dir}`);
  return shown;
}
