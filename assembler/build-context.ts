/** What building one request's trace reads besides its own facts: the capture's lookups and its correlations. */
import type { ClientObservation, NginxAccessEntry } from '../shared/capture-types.ts';
import type { ConnectionIndex } from './connection-setup.ts';
import type { NginxLegRows } from './correlate-nginx.ts';
import type { CaptureIndex } from './index-capture.ts';
import type { ShedFamily } from './shed-families.ts';

export interface BuildContext {
  readonly index: CaptureIndex;
  readonly proxy: 'nginx' | 'node';
  /** The head-sampling rate when below 1 (BPF captures): traces are tagged with it. */
  readonly sampleRate: number | undefined;
  /** Families the overhead guard detached, in time order. */
  readonly sheds: readonly ShedFamily[];
  /** Connection setups and accepts (the conn family). */
  readonly connections: ConnectionIndex;
  /** The offcpu family ran: a thread's time off CPU is known, so its time on CPU is too. */
  readonly offcpuTraced: boolean;
}

/** What the capture's other sources and correlations say about one request. */
export interface RequestContext {
  /** nginx's syscalls for it, as rows (`nginxLegOf` builds their events). */
  readonly leg: NginxLegRows | undefined;
  readonly access: NginxAccessEntry | undefined;
  readonly client: ClientObservation | undefined;
  /** How many other requests the app served while it was in flight. */
  readonly othersInFlight: number;
  /** It was the first request on its client connection. */
  readonly openedConnection: boolean;
}
