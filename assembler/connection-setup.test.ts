import { describe, expect, it } from 'vitest';
import { ConnSide, EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { connectionTiming, connectionWaits, indexConnections, type ConnAcceptEvent, type ConnSetupEvent } from './connection-setup.ts';
import type { SockIo } from './event-time.ts';

const server: Tuple = { localAddress: '127.0.0.1', localPort: 18080, remoteAddress: '127.0.0.1', remotePort: 51000, family: 'ipv4' };
const head = { requestId: '', pid: 0, tid: 0, fd: -1 };

const setup = (tsNs: bigint, synNs: bigint, t: Tuple = server): ConnSetupEvent => ({ ...head, kind: EventKind.ConnSetup, tsNs, synNs, side: ConnSide.Server, rttUs: 40, retransmits: 0, error: 0, tuple: t });
const accept = (tsNs: bigint): ConnAcceptEvent => ({ ...head, pid: 4100, tid: 4100, fd: 9, kind: EventKind.ConnAccept, tsNs, durationNs: 0n, ret: 9n, tuple: server });
const read = (startNs: bigint, arrivalNs: bigint): SockIo => ({
  ...head,
  pid: 4100,
  tid: 4100,
  fd: 9,
  kind: EventKind.SockRecv,
  tsNs: startNs + 5_000n,
  durationNs: 5_000n,
  bytes: 90n,
  arrivalNs,
  syscallNr: 0,
  syscalls: 1,
  tuple: server,
});

describe('connectionTiming', () => {
  //  SYN 1.000 ms ─ established 1.100 ─ bytes 1.150 ─ accepted 301.150 ─ read 301.200
  const events: TraceEvent[] = [setup(1_100_000n, 1_000_000n), accept(301_150_000n)];

  it('bytes that came before the accept: the request waited in the accept queue from their arrival to the accept', () => {
    const t = connectionTiming(indexConnections(events), read(301_200_000n, 1_150_000n), true);
    expect(t).toEqual({ synNs: 1_000_000n, establishedNs: 1_100_000n, acceptedNs: 301_150_000n, arrivalNs: 1_150_000n, readStartNs: 301_200_000n, rttUs: 40, retransmits: 0 });
    expect(connectionWaits(t!)).toEqual({ handshakeNs: 100_000n, acceptQueueNs: 300_050_000n, firstByteWaitNs: 0n, requestQueuedNs: 300_000_000n });
  });

  it('bytes that came after the accept: a wait for the client, not a queue', () => {
    const t = connectionTiming(indexConnections([setup(1_100_000n, 1_000_000n), accept(1_300_000n)]), read(9_100_000n, 9_000_000n), true);
    expect(connectionWaits(t!)).toEqual({ handshakeNs: 100_000n, acceptQueueNs: 200_000n, firstByteWaitNs: 7_700_000n, requestQueuedNs: 0n });
  });

  it('only the request that opened the connection gets its setup', () => {
    expect(connectionTiming(indexConnections(events), read(301_200_000n, 1_150_000n), false)).toBeUndefined();
  });

  it('a port reused by a later connection: the setup before the read is the one used', () => {
    const later = [setup(1_100_000n, 1_000_000n), setup(900_000_000n, 899_990_000n)];
    const t = connectionTiming(indexConnections(later), read(900_100_000n, 900_050_000n), true);
    expect(t?.establishedNs).toBe(900_000_000n);
    expect(t?.acceptedNs).toBeUndefined();
  });

  it('a remote client (no SYN seen) has no handshake time, and no accept seen means no queue split', () => {
    const t = connectionTiming(indexConnections([setup(5_000_000n, 0n)]), read(6_000_000n, 5_500_000n), true);
    expect(connectionWaits(t!)).toEqual({});
  });

  it('a read on a connection set up before the capture began has no timing', () => {
    expect(connectionTiming(indexConnections([]), read(6_000_000n, 5_500_000n), true)).toBeUndefined();
  });
});
