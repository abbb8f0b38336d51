import { labConfig } from '../../lab/config.ts';
import { postgresVersion } from '../../lab/db/postgres-binaries.ts';
import { runningPostgres } from '../../lab/db/postgres-cluster.ts';
import { formatLabStatus, labIsUp, labStatusLive } from '../../lab/lifecycle/lab-status.ts';
import type { Invocation } from '../parse-args.ts';

/** `lab status [--json]`: which tiers run; exit status 0 when all of them do and none is stopped, 3 otherwise. */
export async function run(inv: Invocation): Promise<number> {
  const cfg = labConfig();
  const status = await labStatusLive(cfg, () => {
    try {
      return postgresVersion(runningPostgres(cfg)?.kind);
    } catch {
      return null;
    }
  });
  process.stdout.write((inv.options.json ? JSON.stringify(status) : formatLabStatus(status)) + '\n');
  return labIsUp(status) && status.stopped.length === 0 ? 0 : 3;
}
