import { describe, expect, it } from 'vitest';
import { EventKind, NO_SYSCALL, OffcpuState } from '../shared/event-types.ts';
import { attributeKernelWaits } from './attribute-kernel-waits.ts';
import type { KernelWaitEvent, RunqDelayEvent } from './index-capture.ts';

const head = (tsNs: bigint, tid = 7) => ({ tsNs, requestId: '', pid: 7, tid, fd: -1 });
const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
const futex = (endMs: number, durMs: number, tid = 7): KernelWaitEvent => ({ ...head(ms(endMs), tid), kind: EventKind.Offcpu, durationNs: ms(durMs), syscallNr: 202, state: OffcpuState.Sleep, futexAddr: 0x1000n });
const iowait = (endMs: number, durMs: number): KernelWaitEvent => ({ ...head(ms(endMs)), kind: EventKind.Offcpu, durationNs: ms(durMs), syscallNr: NO_SYSCALL, state: OffcpuState.Iowait, futexAddr: 0n });
const block = (endMs: number, durMs: number): KernelWaitEvent => ({ ...head(ms(endMs)), kind: EventKind.BlockIo, durationNs: ms(durMs), queuedNs: 0n, sector: 8n, bytes: 8192, dev: 8 << 20, op: 0, error: 0 });

describe('attributeKernelWaits', () => {
  //   span                 |====================|          10 .. 30 ms
  //   futex wait       [-------]                            5 .. 15  → 5 ms inside
  //   block I/O                   [--]                     18 .. 20  → 2 ms
  //   io wait                              [------]        26 .. 34  → 4 ms
  //   other thread's futex      [-----]                    ignored
  const waits = [futex(15, 10), futex(19, 4, 8), block(20, 2), iowait(34, 8)];

  it('counts only the overlapping part of each wait of the thread, by kind', () => {
    const a = attributeKernelWaits(waits, ms(10), 7, ms(10), ms(30));
    expect(a.tags).toEqual({
      'kernel.futex_wait_ns': 5_000_000,
      'kernel.futex_waits': 1,
      'kernel.offcpu_ns': 9_000_000,
      'kernel.block_io_ns': 2_000_000,
      'kernel.block_ios': 1,
      'kernel.block_read_ns': 2_000_000,
      'kernel.io_wait_ns': 4_000_000,
    });
    expect(a.logs.map((l) => l.fields.event)).toEqual(['futex wait', 'block I/O', 'I/O wait']);
  });

  it('takes the run-queue wait after a wakeup out of the sleep it ended', () => {
    // The futex waiter woke at 13 ms and waited 2 ms for a CPU (the sched family's record).
    const runq: RunqDelayEvent[] = [{ ...head(ms(15) + 3_000n), kind: EventKind.RunqDelay, delayNs: ms(2) }];
    const a = attributeKernelWaits([futex(15, 10)], ms(10), 7, ms(10), ms(30), runq);
    expect(a.tags['kernel.futex_wait_ns']).toBe(3_000_000);
  });

  it('any thread of the process when no thread is named (a PostgreSQL backend)', () => {
    expect(attributeKernelWaits(waits, ms(10), undefined, ms(10), ms(30)).tags['kernel.futex_wait_ns']).toBe(9_000_000);
  });

  it('nothing outside the span', () => {
    expect(attributeKernelWaits(waits, ms(10), 7, ms(40), ms(50))).toEqual({ tags: {}, logs: [] });
  });
});
