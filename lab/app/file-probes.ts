import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventKind } from '../../shared/event-types.ts';
import type { AppProbes } from './probes.ts';

/** Byte limits of probes/events.h less the NUL, so both backends truncate alike. */
export const FIELD_BYTES = { method: 7, path: 119, query: 255, key: 63, filePath: 127 } as const;

const FLUSH_BYTES = 64 * 1024;
const REQUEST_ID = /^[0-9a-f]{32}$/;

export interface FileProbesOptions {
  /** CLOCK_MONOTONIC nanoseconds, like bpf_ktime_get_ns. */
  readonly clockNs?: () => bigint;
  readonly pid?: number;
  /** Buffered lines are written at least this often (ms). */
  readonly flushIntervalMs?: number;
}

/** File-backed probes, plus the controls the writer needs. */
export interface FileProbes extends AppProbes {
  readonly path: string;
  /** Writes buffered lines now. */
  flush(): void;
  /** Flushes and closes the file; later probe calls are dropped with an error. */
  close(): void;
}

/**
 * Probes that append one JSON object per event (the fields of shared/event-types.ts TraceEvent,
 * bigints and tsNs as decimal strings) to `path`, for running the pipeline without BPF. Lines
 * are buffered and written every `flushIntervalMs`, past 64 KiB, and at process exit. Always
 * enabled.
 */
export function createFileProbes(path: string, options: FileProbesOptions = {}): FileProbes {
  const clockNs = options.clockNs ?? process.hrtime.bigint;
  const pid = options.pid ?? process.pid;
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | null = openSync(path, 'a');
  let pending = '';

  const flush = (): void => {
    if (pending === '' || fd === null) return;
    const data = pending;
    pending = '';
    writeSync(fd, data);
  };
  const close = (): void => {
    clearInterval(timer);
    process.off('exit', close);
    flush();
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  const timer = setInterval(flush, options.flushIntervalMs ?? 100);
  timer.unref();
  process.on('exit', close);

  const emit = (kind: number, requestId: string, fdNum: number, fields: string): void => {
    if (!REQUEST_ID.test(requestId)) {
      throw new TypeError('probe: requestId must be a string of 32 lowercase hex digits');
    }
    if (fd === null) throw new Error(`probe events file ${path} is already closed`);
    pending += `{"kind":${kind},"tsNs":"${clockNs()}","requestId":"${requestId}","pid":${pid},"tid":${pid},"fd":${fdNum}${fields}}\n`;
    if (pending.length >= FLUSH_BYTES) flush();
  };
  const always = (): boolean => true;

  return {
    backend: 'file',
    path,
    flush,
    close,
    enabled: {
      requestStart: always,
      requestEnd: always,
      dbQueryStart: always,
      dbQueryEnd: always,
      cacheHit: always,
      cacheMiss: always,
      fileOpen: always,
      fileClose: always,
      poolWait: always,
    },
    requestStart(requestId, method, reqPath, fdNum) {
      emit(
        EventKind.RequestStart,
        requestId,
        fdNum,
        `,"method":${jsonString(method, FIELD_BYTES.method)},"path":${jsonString(reqPath, FIELD_BYTES.path)}`,
      );
    },
    requestEnd(requestId, statusCode, durationUs, fdNum) {
      emit(EventKind.RequestEnd, requestId, fdNum, `,"status":${statusCode},"durationUs":"${u64(durationUs)}"`);
    },
    dbQueryStart(requestId, query, fdNum) {
      emit(EventKind.DbQueryStart, requestId, fdNum, `,"query":${jsonString(query, FIELD_BYTES.query)}`);
    },
    dbQueryEnd(requestId, durationUs, rows, fdNum) {
      emit(EventKind.DbQueryEnd, requestId, fdNum, `,"durationUs":"${u64(durationUs)}","rows":"${u64(rows)}"`);
    },
    cacheHit(requestId, key) {
      emit(EventKind.CacheHit, requestId, -1, `,"key":${jsonString(key, FIELD_BYTES.key)}`);
    },
    cacheMiss(requestId, key) {
      emit(EventKind.CacheMiss, requestId, -1, `,"key":${jsonString(key, FIELD_BYTES.key)}`);
    },
    fileOpen(requestId, fdNum, filePath) {
      emit(EventKind.FileOpen, requestId, fdNum, `,"path":${jsonString(filePath, FIELD_BYTES.filePath)}`);
    },
    fileClose(requestId, fdNum) {
      emit(EventKind.FileClose, requestId, fdNum, '');
    },
    poolWait(requestId, waitUs, poolSize, busy, waiting, fdNum, newConnection) {
      emit(
        EventKind.PoolWait,
        requestId,
        fdNum,
        `,"waitNs":"${u64(waitUs * 1000)}","poolSize":${count(poolSize)},"busy":${count(busy)},"waiting":${count(waiting)},"newConnection":${newConnection}`,
      );
    },
  };
}

/** Non-negative whole number as the addon passes it (fractions truncated, negatives refused). */
function u64(n: number): string {
  if (!Number.isFinite(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) {
    throw new TypeError(`probe: ${n} is not a finite number from 0 to 2^53-1`);
  }
  return String(Math.trunc(n));
}

/** A pool count as the addon passes it: a whole number from 0 to 2^31-1. */
function count(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new TypeError(`probe: ${n} is not a whole number from 0 to 2^31-1`);
  return n;
}

function jsonString(s: string, maxBytes: number): string {
  return JSON.stringify(truncateUtf8(s, maxBytes));
}

/** Cuts `s` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no encoding.
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  const bytes = Buffer.from(s);
  let end = maxBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}
