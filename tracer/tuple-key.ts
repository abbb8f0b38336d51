import type { Tuple } from '../shared/event-types.ts';

/** `local>remote` as `addr:port>addr:port`: one direction of one TCP connection. */
export function tupleKey(t: Tuple): string {
  return `${t.localAddress}:${t.localPort}>${t.remoteAddress}:${t.remotePort}`;
}
