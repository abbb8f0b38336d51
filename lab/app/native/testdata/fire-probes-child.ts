// A process that owns the addon for the end-to-end test. Reads commands from stdin, one a line:
//   sem      → prints the semaphores and enabled.*() as JSON
//   fire N   → fires every probe N times with the i-th arguments below, prints "fired N"
import { createInterface } from 'node:readline';
import { loadUsdtAddon, nativeProbes, PROBE_NAMES } from '../usdt-addon.ts';

const addon = loadUsdtAddon(process.argv[2]);
const probes = nativeProbes(addon);

/** The request id of the i-th call: 32 lowercase hex digits. */
function requestIdOf(i: number): string {
  return i.toString(16).padStart(8, '0').repeat(4);
}

function fire(n: number): void {
  for (let i = 0; i < n; i++) {
    const id = requestIdOf(i);
    probes.requestStart(id, 'GET', `/api/users/${i}`, 10);
    probes.dbQueryStart(id, `/* ${id} */ SELECT * FROM users WHERE id = $1`, 11);
    probes.dbQueryEnd(id, 1500 + i, 1, 11);
    probes.cacheHit(id, `user:${i}`);
    probes.cacheMiss(id, `user:${i}`);
    probes.fileOpen(id, 12, `/tmp/report-${i}.log`);
    probes.fileClose(id, 12);
    probes.poolWait(id, 40_000 + i, 10, 10, i % 7, 11, i % 2 === 1);
    probes.requestEnd(id, 200, 2500 + i, 10);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'sem') {
    const sems = Object.fromEntries(PROBE_NAMES.map((p) => [p, new Uint16Array(addon.semaphores[p])[0]]));
    const enabled = Object.fromEntries(PROBE_NAMES.map((p) => [p, probes.enabled[p]()]));
    process.stdout.write(`${JSON.stringify({ sems, enabled })}\n`);
  } else if (cmd === 'fire') {
    fire(Number(arg));
    process.stdout.write(`fired ${arg}\n`);
  } else {
    process.stderr.write(`unknown command '${line}'\n`);
  }
});
process.stdout.write('ready\n');
