import type { PostgresKind, ProbeMode, ProxyKind } from '../../shared/modes.ts';
import { labConfig } from '../../lab/config.ts';
import { formatLabStatus } from '../../lab/lifecycle/lab-status.ts';
import { labUp } from '../../lab/lifecycle/lab-up.ts';
import type { Invocation } from '../parse-args.ts';

/** `lab up [--proxy nginx|node] [--usdt MODE] [--postgres system|embedded]`: start every tier; harmless when already up. */
export async function run(inv: Invocation): Promise<number> {
  const cfg = labConfig();
  const status = await labUp(cfg, {
    proxy: inv.options.proxy as ProxyKind | undefined,
    usdt: inv.options.usdt as ProbeMode | undefined,
    postgres: inv.options.postgres as PostgresKind | undefined,
    progress: (line) => process.stderr.write(`lab up: ${line}\n`),
  });
  process.stdout.write(formatLabStatus(status) + '\n');
  return 0;
}
