/**
 * `lab trace --metrics-port N`: the metrics server and the follower that feeds it while the
 * trace runs. The server binds first (a busy port fails before anything is traced); once the
 * loader is attached, `follow` starts reading events.bin (decoded incrementally, a record cut
 * at the end of a read kept for the next) and the proxy's access log from the capture's mark,
 * and samples the tracer's CPU. `stop` reads what is left and closes the server.
 */
import { readFileSync } from 'node:fs';
import { parseAccessLog } from '../lab/nginx/parse-access-log.ts';
import { decodeEvents } from '../tracer/decode-events.ts';
import { FileFollower, LineSplitter } from './follow-file.ts';
import { LiveMetrics, type TracerTier } from './live-metrics.ts';
import { startMetricsServer, type MetricsServer } from './metrics-server.ts';
import { renderExposition } from './render-exposition.ts';

/** Linux reports /proc/PID/stat times in USER_HZ ticks, 100 per second on every architecture it supports. */
const USER_HZ = 100;
const POLL_MS = 500;

export interface FollowTargets {
  readonly eventsPath: string;
  readonly accessLogPath: string;
  /** Where the capture's slice of the access log starts, bytes. */
  readonly accessOffset: number;
  readonly loaderPid: number | null;
  readonly pids: Readonly<Partial<Record<TracerTier, readonly number[]>>>;
}

export interface TraceMetrics {
  readonly url: string;
  follow(targets: FollowTargets): void;
  /** The loader's loss counters, once it has reported them (at its exit). */
  loaderReported(drops: Readonly<Record<string, number>>): void;
  stop(): Promise<void>;
}

/** CPU seconds of `pid` from /proc/PID/stat (utime + stime), or null once it is gone. */
export function processCpuSeconds(pid: number, stat = readStat(pid)): number | null {
  if (stat === null) return null;
  // Fields after the parenthesized command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / USER_HZ : null;
}

function readStat(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

export async function startTraceMetrics(port: number, options: { readonly pollMs?: number } = {}): Promise<TraceMetrics> {
  let metrics = new LiveMetrics();
  const server: MetricsServer = await startMetricsServer(port, () => renderExposition(metrics.families()));
  let timer: NodeJS.Timeout | null = null;
  let poll: () => void = () => {};
  let loaderCpu = 0;
  return {
    url: server.url,
    follow(t) {
      metrics = new LiveMetrics({ pids: t.pids });
      const events = new FileFollower(t.eventsPath);
      const access = new FileFollower(t.accessLogPath, t.accessOffset);
      const lines = new LineSplitter();
      let remainder: Buffer = Buffer.alloc(0);
      let corrupt = false;
      const lab0 = process.cpuUsage();
      poll = () => {
        const chunk = events.read();
        if (chunk.length > 0 && !corrupt) {
          const input = remainder.length ? Buffer.concat([remainder, chunk]) : chunk;
          const r = decodeEvents(input);
          remainder = Buffer.from(r.remainder);
          corrupt = r.corrupt;
          metrics.observeEvents(r.events, input.length - r.remainder.length, r.warnings.length);
        }
        const text = lines.push(access.read());
        if (text.length > 0) metrics.observeAccess(parseAccessLog(text.join('\n')).entries);
        if (t.loaderPid !== null) loaderCpu = processCpuSeconds(t.loaderPid) ?? loaderCpu;
        const lab = process.cpuUsage(lab0);
        metrics.setTracer({ cpuSeconds: { ...(t.loaderPid !== null ? { loader: loaderCpu } : {}), lab: (lab.user + lab.system) / 1e6 } });
      };
      timer = setInterval(poll, options.pollMs ?? POLL_MS);
      timer.unref();
    },
    loaderReported(drops) {
      metrics.setTracer({ drops });
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      poll();
      await server.close();
    },
  };
}
