/**
 * The app connection an unsampled request arrived on. While sampling, such a request leaves only
 * RequestStart/RequestEnd (pid, fd, time), no socket I/O carrying a 4-tuple; the fd's other
 * evidence says which connection it held then:
 *
 *   fd 20  ──accept(T1)──  req A (sampled, T1)  ──  U  ──  req B (sampled, T1)  ──close(T1)──  accept(T2) …
 *
 * the nearest accept or sampled request before U on the same fd, or else the nearest sampled
 * request or close after it, as long as no close or accept lies in between.
 */
import type { Tuple } from '../shared/event-types.ts';
import { lowerBound } from './event-time.ts';
import type { CaptureIndex } from './index-capture.ts';

/** A sampled request's use of an inbound fd: its start and the connection it carried. */
export interface InboundUse {
  readonly pid: number;
  readonly fd: number;
  readonly atNs: bigint;
  readonly tuple: Tuple;
}

interface Mark {
  readonly atNs: bigint;
  readonly what: 'open' | 'use' | 'close';
  readonly tuple: Tuple | undefined;
}

/** Looks up the connection an fd held at a time; built once per capture. */
export type InboundConnectionLookup = (pid: number, fd: number, atNs: bigint) => Tuple | undefined;

const known = (t: Tuple): Tuple | undefined => (t.localPort !== 0 ? t : undefined);

/** Indexes accepts, closes and sampled requests' connections by `pid:fd`. Pure. */
export function inboundConnectionLookup(index: CaptureIndex, uses: readonly InboundUse[]): InboundConnectionLookup {
  const marks = new Map<string, Mark[]>();
  const add = (key: string, m: Mark): void => {
    const list = marks.get(key);
    if (list) list.push(m);
    else marks.set(key, [m]);
  };
  for (const [key, list] of index.acceptsByFd) for (const a of list) add(key, { atNs: a.tsNs, what: 'open', tuple: known(a.tuple) });
  for (const [key, list] of index.closesByFd) for (const c of list) add(key, { atNs: c.tsNs, what: 'close', tuple: known(c.tuple) });
  for (const u of uses) add(`${u.pid}:${u.fd}`, { atNs: u.atNs, what: 'use', tuple: u.tuple });
  for (const list of marks.values()) list.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));

  return (pid, fd, atNs) => {
    const list = marks.get(`${pid}:${fd}`);
    if (!list) return undefined;
    const i = lowerBound(list, (m) => m.atNs > atNs);
    const before = list[i - 1];
    if (before && before.what !== 'close' && before.tuple) return before.tuple;
    const after = list[i];
    if (after && after.what !== 'open' && after.tuple) return after.tuple;
    return undefined;
  };
}
