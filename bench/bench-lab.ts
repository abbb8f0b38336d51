/**
 * The lab a bench runs against: the one at LAB_PORT_BASE / LAB_STATE_DIR, brought up (nginx, the
 * app with its native USDT addon) when it is down, and taken down afterwards only when the
 * bench brought it up.
 */
import { appBackend } from '../tracer/app-backend.ts';
import { labConfig, type LabConfig } from '../lab/config.ts';
import { labDown } from '../lab/lifecycle/lab-down.ts';
import { labIsUp, labStatus, type LabStatus } from '../lab/lifecycle/lab-status.ts';
import { labUp } from '../lab/lifecycle/lab-up.ts';

export interface BenchLab {
  readonly cfg: LabConfig;
  readonly status: LabStatus;
  readonly appPid: number;
  readonly pgPid: number;
  /** The nginx master and workers. */
  readonly nginxPids: readonly number[];
  /** The USDT addon mapped into the app. */
  readonly addonPath: string;
  /** `http://127.0.0.1:<proxy port>`. */
  readonly url: string;
  /** Takes the lab down if this bench brought it up. */
  close(): Promise<void>;
}

export async function openBenchLab(say: (line: string) => void): Promise<BenchLab> {
  const cfg = labConfig();
  const wasUp = labIsUp(labStatus(cfg, () => null));
  const status = wasUp ? labStatus(cfg, () => null) : await labUp(cfg, { proxy: 'nginx', usdt: 'native', progress: say });
  const close = async (): Promise<void> => {
    if (!wasUp) await labDown(cfg, say);
  };
  try {
    if (status.proxy.kind !== 'nginx') throw new Error(`the lab runs the ${status.proxy.kind} proxy; benches measure through nginx`);
    const appPid = status.app.pid as number;
    const backend = appBackend(appPid, cfg);
    if (backend.kind !== 'native') {
      throw new Error(`the app's probes are '${backend.kind}', not the native USDT addon: restart the lab with \`lab down && sudo lab up --usdt native\``);
    }
    return {
      cfg,
      status,
      appPid,
      pgPid: status.postgres.pid as number,
      nginxPids: [status.proxy.pid as number, ...status.proxy.workers],
      addonPath: backend.addonPath,
      url: `http://${cfg.host}:${cfg.proxyPort}`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
