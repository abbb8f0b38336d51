/**
 * What a thread of the lab waited for inside a span, from the families that see threads, not
 * requests (blockio, faults, offcpu, slowsys, reclaim): a wait counts against a span when it
 * overlaps the span on a thread the span ran on, for the overlapping part (as run-queue delays do,
 * attribute-runq-delay.ts):
 *
 *   span            |========================|
 *   thread's waits     [sleep: futex]   [block I/O]   [fault]
 *   counted            ^^^^^^^^^^^^^    ^^^^^^^^^^^             (only inside the span)
 *
 * An off-CPU record runs until the thread got a CPU back, so it includes the run-queue wait after
 * its wakeup; that part is the sched family's (a run-queue delay ending with it) and is taken out
 * here, so that sleeping and waiting for a CPU are not counted twice.
 */
import { EventKind, OffcpuState } from '../shared/event-types.ts';
import { eventStartNs, lowerBound, maxBig, minBig } from './event-time.ts';
import type { KernelWaitEvent, RunqDelayEvent } from './index-capture.ts';
import type { SpanLog } from './span.ts';
import { FUTEX_SYSCALLS, syscallName } from './syscall-name.ts';

/** ns sums and counts, keyed by tag name (`kernel.futex_wait_ns`, `kernel.block_ios`, …). */
export type WaitTags = Record<string, number>;

export interface WaitAttribution {
  readonly tags: WaitTags;
  readonly logs: readonly SpanLog[];
}

/** Waits at least this long are logged on the span, at most `MAX_LOGS` per span. */
const LOG_NS = 1_000_000n;
const MAX_LOGS = 16;
/** An off-CPU record and a run-queue delay that end within this of each other end at one switch. */
const SAME_SWITCH_NS = 20_000n;

function add(tags: WaitTags, key: string, v: number): void {
  tags[key] = (tags[key] ?? 0) + v;
}

/** The run-queue delay of `tid` that ended at the same switch as an off-CPU record ending at `endNs`. */
function runqAtSwitch(runq: readonly RunqDelayEvent[] | undefined, tid: number, endNs: bigint): bigint {
  if (!runq) return 0n;
  for (let i = lowerBound(runq, (d) => d.tsNs >= endNs - SAME_SWITCH_NS); i < runq.length; i++) {
    const d = runq[i] as RunqDelayEvent;
    if (d.tsNs > endNs + SAME_SWITCH_NS) break;
    if (d.tid === tid) return d.delayNs;
  }
  return 0n;
}

/**
 * The waits among `waits` (one process's, sorted by end time; none longer than `maxWaitNs`) of
 * thread `tid` (undefined: any thread of it) that overlap [startNs, endNs]. `runq`: the same
 * process's run-queue delays, to take out of off-CPU records.
 */
export function attributeKernelWaits(
  waits: readonly KernelWaitEvent[] | undefined,
  maxWaitNs: bigint,
  tid: number | undefined,
  startNs: bigint,
  endNs: bigint,
  runq?: readonly RunqDelayEvent[],
): WaitAttribution {
  const tags: WaitTags = {};
  const logs: SpanLog[] = [];
  if (!waits || waits.length === 0 || endNs <= startNs) return { tags, logs };
  for (let i = lowerBound(waits, (w) => w.tsNs > startNs); i < waits.length; i++) {
    const w = waits[i] as KernelWaitEvent;
    if (w.tsNs - maxWaitNs >= endNs) break;
    if (tid !== undefined && w.tid !== tid) continue;
    const from = eventStartNs(w);
    let to = w.tsNs;
    if (w.kind === EventKind.Offcpu) to -= runqAtSwitch(runq, w.tid, w.tsNs);
    const overlap = minBig(to, endNs) - maxBig(from, startNs);
    if (overlap <= 0n) continue;
    const ns = Number(overlap);
    let log: SpanLog | undefined;
    switch (w.kind) {
      case EventKind.Offcpu: {
        const key = FUTEX_SYSCALLS.has(w.syscallNr) ? 'kernel.futex_wait' : w.state === OffcpuState.Iowait ? 'kernel.io_wait' : w.state === OffcpuState.Blocked ? 'kernel.blocked' : 'kernel.sleep';
        add(tags, `${key}_ns`, ns);
        add(tags, 'kernel.offcpu_ns', ns);
        if (key === 'kernel.futex_wait') add(tags, 'kernel.futex_waits', 1);
        if (overlap >= LOG_NS && key !== 'kernel.sleep') {
          log = { tsNs: w.tsNs, fields: { event: key === 'kernel.futex_wait' ? 'futex wait' : key === 'kernel.io_wait' ? 'I/O wait' : 'blocked in the kernel', 'kernel.wait_ns': ns, 'thread.id': w.tid, ...(w.syscallNr !== 0xffffffff ? { 'kernel.syscall': syscallName(w.syscallNr) } : {}) } };
        }
        break;
      }
      case EventKind.BlockIo:
        add(tags, 'kernel.block_io_ns', ns);
        add(tags, 'kernel.block_ios', 1);
        add(tags, w.op === 0 ? 'kernel.block_read_ns' : 'kernel.block_write_ns', ns);
        if (overlap >= LOG_NS) log = { tsNs: w.tsNs, fields: { event: 'block I/O', 'kernel.wait_ns': ns, 'disk.io.bytes': w.bytes, 'disk.io.direction': w.op === 0 ? 'read' : w.op === 1 ? 'write' : w.op === 2 ? 'flush' : `op ${w.op}`, 'thread.id': w.tid } };
        break;
      case EventKind.MajorFault:
        add(tags, 'kernel.major_fault_ns', ns);
        add(tags, 'kernel.major_faults', 1);
        if (overlap >= LOG_NS) log = { tsNs: w.tsNs, fields: { event: 'major page fault', 'kernel.wait_ns': ns, 'thread.id': w.tid } };
        break;
      case EventKind.SlowSyscall:
        add(tags, 'kernel.slow_syscall_ns', ns);
        add(tags, 'kernel.slow_syscalls', 1);
        log = { tsNs: w.tsNs, fields: { event: 'slow syscall', 'kernel.syscall': syscallName(w.syscallNr), 'kernel.wait_ns': ns, 'thread.id': w.tid, ...(w.fd >= 0 ? { fd: w.fd } : {}) } };
        break;
      case EventKind.DirectReclaim:
        add(tags, 'kernel.direct_reclaim_ns', ns);
        add(tags, 'kernel.direct_reclaims', 1);
        if (overlap >= LOG_NS) log = { tsNs: w.tsNs, fields: { event: 'direct reclaim', 'kernel.wait_ns': ns, 'kernel.pages_reclaimed': Number(w.reclaimed), 'thread.id': w.tid } };
        break;
    }
    if (log && logs.length < MAX_LOGS) logs.push(log);
  }
  return { tags, logs };
}
