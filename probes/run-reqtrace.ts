/**
 * Runs build/reqtrace for end-to-end tests: records collected in memory, the --status-fd JSON
 * lines parsed, and the BPF programs and links it owns listed (by pid, through bpftool) so a test
 * can check they are gone after it stops.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { decodeEvents, truncatedTailWarning } from '../tracer/decode-events.ts';
import type { TraceEvent } from '../tracer/event-types.ts';

export const PROBES_DIR = import.meta.dirname;
export const REQTRACE = resolve(PROBES_DIR, 'build/reqtrace');

/** Builds every probe binary; throws with make's output when it fails. */
export function buildProbes(): void {
  execFileSync('make', ['-s', '-C', PROBES_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface LoaderExit {
  readonly code: number | null;
  readonly events: TraceEvent[];
  readonly warnings: string[];
  readonly stderr: string;
  /** The parsed `{"event":"exit",...}` status line. */
  readonly exitStatus: Record<string, unknown> | null;
}

export interface RunningLoader {
  readonly pid: number;
  readonly hooks: Record<string, string>;
  /** BPF program ids held by the loader while attached. */
  readonly progIds: number[];
  readonly linkIds: number[];
  /** SIGINT, then wait for exit and decode everything it wrote. */
  stop(): Promise<LoaderExit>;
}

interface BpftoolObject {
  readonly id: number;
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
  const list = JSON.parse(execFileSync('bpftool', ['-j', what, 'list'], { encoding: 'utf8' })) as BpftoolObject[];
  return new Set(list.map((o) => o.id));
}

function lines(stream: Readable, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

/** Starts the loader with `args` and resolves once it reports its hooks attached. */
export async function startLoader(args: readonly string[], timeoutMs = 30_000): Promise<RunningLoader> {
  const child: ChildProcess = spawn(REQTRACE, [...args, '--status-fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  const statuses: Record<string, unknown>[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const attached = new Promise<Record<string, unknown>>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`reqtrace did not attach within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines(child.stdio[3] as Readable, (line) => {
      const status = JSON.parse(line) as Record<string, unknown>;
      statuses.push(status);
      if (status.event === 'attached') {
        clearTimeout(timer);
        res(status);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`reqtrace exited (${code}) before attaching: ${stderr.trim()}`));
    });
  });
  const status = await attached;
  const pid = child.pid!;
  return {
    pid,
    hooks: status.hooks as Record<string, string>,
    progIds: bpfObjectsHeldBy('prog', pid),
    linkIds: bpfObjectsHeldBy('link', pid),
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await exited;
      const all = Buffer.concat(chunks);
      const decoded = decodeEvents(all);
      const tail = truncatedTailWarning(decoded.remainder, all.length - decoded.remainder.length);
      return {
        code,
        events: decoded.events,
        warnings: tail ? [...decoded.warnings, tail] : decoded.warnings,
        stderr,
        exitStatus: statuses.find((s) => s.event === 'exit') ?? null,
      };
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
