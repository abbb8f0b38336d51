/**
 * The loader for end-to-end tests, run by the tracer's own runner (tracer/spawn-loader.ts): its
 * records decoded once it stops, and the BPF programs and links it holds listed so a test can
 * check they are gone after it stops.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeEvents, truncatedTailWarning } from '../tracer/decode-events.ts';
import type { TraceEvent } from '../shared/event-types.ts';
import type { LoaderStatus } from '../tracer/parse-loader-output.ts';
import { LOADER_PATH, spawnLoader } from '../tracer/spawn-loader.ts';

export const PROBES_DIR = resolve(import.meta.dirname, '..', 'probes');
export const REQTRACE = LOADER_PATH;

/** Builds every probe binary; throws with make's output when it fails. */
export function buildProbes(): void {
  execFileSync('make', ['-s', '-C', PROBES_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface LoaderExit {
  readonly code: number | null;
  readonly events: TraceEvent[];
  readonly warnings: string[];
  readonly stderr: string;
  /** The loader's `{"event":"exit",...}` status line. */
  readonly exitStatus: Extract<LoaderStatus, { event: 'exit' }> | null;
}

export interface RunningLoader {
  readonly pid: number;
  readonly hooks: Record<string, string>;
  /** BPF program ids held by the loader while attached. */
  readonly progIds: number[];
  readonly linkIds: number[];
  /** Where its records go while it runs. */
  readonly eventsPath: string;
  /** SIGINT, then wait for exit and decode everything it wrote. */
  stop(): Promise<LoaderExit>;
}

/**
 * Ids of the BPF programs or links (`what`) that process `pid` holds an fd of, from
 * /proc/PID/fdinfo (this bpftool lists no owning pids).
 */
export function bpfObjectsHeldBy(what: 'prog' | 'link', pid: number): number[] {
  const key = what === 'prog' ? /^prog_id:\s+(\d+)$/m : /^link_id:\s+(\d+)$/m;
  const ids: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const m = key.exec(info);
    if (m) ids.push(Number(m[1]));
  }
  return [...new Set(ids)];
}

/** Ids of every BPF program or link that exists now. */
export function bpfObjectIds(what: 'prog' | 'link'): Set<number> {
  const list = JSON.parse(execFileSync('bpftool', ['-j', what, 'list'], { encoding: 'utf8' })) as { readonly id: number }[];
  return new Set(list.map((o) => o.id));
}

/** Starts the loader with `args` and resolves once it reports its hooks attached. */
export async function startLoader(args: readonly string[], timeoutMs = 30_000): Promise<RunningLoader> {
  const dir = mkdtempSync(join(tmpdir(), 'reqtrace-loader-'));
  const eventsPath = join(dir, 'events.bin');
  const logPath = join(dir, 'loader.log');
  const readLog = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const loader = spawnLoader({ args, eventsPath, logPath, attachTimeoutMs: timeoutMs });
  let hooks: Record<string, string>;
  try {
    hooks = { ...(await loader.attached) };
  } catch (err) {
    await loader.exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`reqtrace did not attach: ${(err as Error).message}\n${readLog().trim()}`);
  }
  const pid = loader.pid;
  return {
    pid,
    hooks,
    progIds: bpfObjectsHeldBy('prog', pid),
    linkIds: bpfObjectsHeldBy('link', pid),
    eventsPath,
    async stop() {
      const r = await loader.stop(60_000);
      try {
        const all = readFileSync(eventsPath);
        const decoded = decodeEvents(all);
        const tail = truncatedTailWarning(decoded.remainder, all.length - decoded.remainder.length);
        return {
          code: r.exitCode,
          events: decoded.events,
          warnings: tail ? [...decoded.warnings, tail] : decoded.warnings,
          stderr: readLog(),
          exitStatus: r.exit,
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The current value of every USDT semaphore of `provider` in `binary` as mapped into process
 * `pid`, read from /proc/pid/mem (addresses from the ELF notes via readelf).
 */
export function usdtSemaphores(pid: number, binary: string, provider: string): Record<string, number> {
  const notes = execFileSync('readelf', ['-n', binary], { encoding: 'utf8' });
  const sems: Record<string, number> = {};
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: \S+, Base: \S+, Semaphore: (0x[0-9a-f]+)/g;
  const real = execFileSync('readlink', ['-f', binary], { encoding: 'utf8' }).trim();
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${real}`))
    .map((l) => {
      const [range = '', , offset = '0'] = l.split(/\s+/);
      return { start: parseInt(range.split('-')[0]!, 16), offset: parseInt(offset, 16) };
    });
  const first = maps.find((m) => m.offset === 0);
  if (!first) throw new Error(`${real} is not mapped into process ${pid}`);
  // Linked at vaddr 0 (shared object or PIE): the runtime address is the base plus the vaddr.
  const isPie = /Type:\s+(DYN)/.test(execFileSync('readelf', ['-h', binary], { encoding: 'utf8' }));
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const m of notes.matchAll(re)) {
      if (m[1] !== provider) continue;
      const addr = (isPie ? first.start : 0) + parseInt(m[3]!, 16);
      const buf = Buffer.alloc(2);
      readSync(fd, buf, 0, 2, addr);
      sems[m[2]!] = buf.readUInt16LE(0);
    }
  } finally {
    closeSync(fd);
  }
  return sems;
}
