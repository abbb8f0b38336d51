import { labConfig } from '../../lab/config.ts';
import { labDown } from '../../lab/lifecycle/lab-down.ts';
import type { Invocation } from '../parse-args.ts';

/** `lab down`: stop the proxy, the app and PostgreSQL; harmless when nothing runs. */
export async function run(_inv: Invocation): Promise<number> {
  const report = await labDown(labConfig(), (line) => process.stderr.write(`lab down: ${line}\n`));
  if (!report.proxy.length && report.app === null && report.postgres === null) process.stderr.write('lab down: nothing was running\n');
  return 0;
}
