/**
 * The app's probe points. Every call is cheap when nobody listens: callers test the
 * matching `enabled.*()` first, which reads the probe's semaphore without a native call, so an
 * untraced app marshals nothing. The implementation (native USDT addon, JSON-lines file, or
 * no-op) is chosen once at start-up by `loadProbes`.
 *
 * Request ids are 32 lowercase hex characters. `fd` is the file descriptor the request is using
 * at that moment: the inbound socket for request_*, the pg connection for db_query_*, an opened
 * file for file_*. Durations are microseconds.
 */
import type { ProbeMode } from '../../shared/modes.ts';

export interface AppProbes {
  /** 'native' (USDT in the addon), 'file' (JSON lines), or 'off'. */
  readonly backend: Exclude<ProbeMode, 'auto'>;
  readonly enabled: ProbeSwitches;
  requestStart(requestId: string, method: string, path: string, fd: number): void;
  requestEnd(requestId: string, statusCode: number, durationUs: number, fd: number): void;
  /** `query` is the statement with `$n` placeholders (no literal values), without the SQL comment. */
  dbQueryStart(requestId: string, query: string, fd: number): void;
  dbQueryEnd(requestId: string, durationUs: number, rows: number, fd: number): void;
  cacheHit(requestId: string, key: string): void;
  cacheMiss(requestId: string, key: string): void;
  /** Binds an opened file's fd to the request (kernel file I/O on it is then attributed). */
  fileOpen(requestId: string, fd: number, path: string): void;
  /** Unbinds the fd before it is closed. */
  fileClose(requestId: string, fd: number): void;
  /**
   * The request got a pool connection (fd) after waiting `waitUs` for it; `poolSize` is the pool's
   * maximum, `busy` the connections checked out and `waiting` the requests queued when it asked;
   * `newConnection` when the pool opened the connection for it.
   */
  poolWait(requestId: string, waitUs: number, poolSize: number, busy: number, waiting: number, fd: number, newConnection: boolean): void;
}

export interface ProbeSwitches {
  requestStart(): boolean;
  requestEnd(): boolean;
  dbQueryStart(): boolean;
  dbQueryEnd(): boolean;
  cacheHit(): boolean;
  cacheMiss(): boolean;
  fileOpen(): boolean;
  fileClose(): boolean;
  poolWait(): boolean;
}

const never = (): boolean => false;
const nothing = (): void => {};

/** Probes that are never enabled. */
export const noopProbes: AppProbes = {
  backend: 'off',
  enabled: {
    requestStart: never,
    requestEnd: never,
    dbQueryStart: never,
    dbQueryEnd: never,
    cacheHit: never,
    cacheMiss: never,
    fileOpen: never,
    fileClose: never,
    poolWait: never,
  },
  requestStart: nothing,
  requestEnd: nothing,
  dbQueryStart: nothing,
  dbQueryEnd: nothing,
  cacheHit: nothing,
  cacheMiss: nothing,
  fileOpen: nothing,
  fileClose: nothing,
  poolWait: nothing,
};
