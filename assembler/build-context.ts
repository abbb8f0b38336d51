/** What building one request's trace reads besides its own facts: the capture's lookups and its correlations. */
import type { ClientObservation, NginxAccessEntry } from '../shared/capture-types.ts';
import type { ConnectionIndex } from './connection-setup.ts';
import type { NginxLegRows } from './correlate-nginx.ts';
import type { CaptureIndex } from './index-capture.ts';
import type { ShedFamily } from './shed-families.ts';

export interface BuildContext {
  readonly index: CaptureIndex;
  /** nginx's syscalls per request, as rows (`nginxLegOf` builds their events). */
  readonly legs: ReadonlyMap<string, NginxLegRows>;
  readonly access: ReadonlyMap<string, NginxAccessEntry>;
  readonly client: ReadonlyMap<string, ClientObservation>;
  readonly proxy: 'nginx' | 'node';
  /** The head-sampling rate when below 1 (BPF captures): traces are tagged with it. */
  readonly sampleRate: number | undefined;
  /** Families the overhead guard detached, in time order. */
  readonly sheds: readonly ShedFamily[];
  /** Connection setups and accepts (the conn family), and the requests that opened their connection. */
  readonly connections: ConnectionIndex;
  readonly firstOnConnection: ReadonlySet<string>;
  /** Per request, how many other requests the app served while it was in flight. */
  readonly othersInFlight: ReadonlyMap<string, number>;
  /** The offcpu family ran: a thread's time off CPU is known, so its time on CPU is too. */
  readonly offcpuTraced: boolean;
}
