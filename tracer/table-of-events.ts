/**
 * The table of events that already are objects (fixtures, events.jsonl of the no-BPF mode, a
 * capture built in memory): the same columns the decoder fills, by the same kind rules, with each
 * row handing back its own object.
 */
import type { CaptureEvents } from '../shared/capture-types.ts';
import { EventTable } from './event-table.ts';
import { Interner } from './event-interner.ts';
import type { TraceEvent, Tuple } from '../shared/event-types.ts';
import { eventStartNs, KIND_RULES } from './kind-rules.ts';

/** `events` as a table: itself when it is one, else its columns over its objects (in their order). */
export function tableOfEvents(events: CaptureEvents | readonly TraceEvent[]): EventTable {
  if (events instanceof EventTable) return events;
  const list: readonly TraceEvent[] = Array.isArray(events) ? events : [...events];
  const n = list.length;
  const kind = new Uint8Array(n);
  const ts = new Float64Array(n);
  const lead = new Float64Array(n);
  const pid = new Uint32Array(n);
  const tid = new Uint32Array(n);
  const fd = new Int32Array(n);
  const request = new Int32Array(n);
  const conn = new Int32Array(n);
  const bytes = new Float64Array(n);
  const baseNs = n > 0 ? list[0]!.tsNs : 0n;
  const ids = new Interner();
  const conns = new TupleLookup(ids);
  for (let i = 0; i < n; i++) {
    const e = list[i]!;
    kind[i] = e.kind;
    ts[i] = Number(e.tsNs - baseNs);
    pid[i] = e.pid;
    tid[i] = e.tid;
    fd[i] = e.fd;
    request[i] = e.requestId === '' ? -1 : ids.requestIndexOf(e.requestId);
    const rule = KIND_RULES[e.kind];
    conn[i] = rule?.tuple === undefined ? -1 : conns.indexOf((e as { readonly tuple: Tuple }).tuple);
    bytes[i] = rule?.bytes === undefined ? 0 : Number((e as unknown as Record<string, bigint>)[rule.bytes.name]);
    lead[i] = Number(e.tsNs - eventStartNs(e));
  }
  const { requestIds, tuples, connKeys } = ids;
  return new EventTable({ length: n, kind, ts, baseNs, lead, pid, tid, fd, request, requestIds, conn, tuples, connKeys, bytes }, (row) => list[row]!, (row) => (list[row] as { readonly tuple?: Tuple }).tuple);
}

/**
 * Connection indexes of Tuple objects: by object first (decoded events share one per connection),
 * then by ports and addresses, so that equal tuples in separate objects cost no key text each.
 */
class TupleLookup {
  readonly #byObject = new Map<Tuple, number>();
  readonly #byPorts = new Map<number, Array<{ readonly t: Tuple; readonly c: number }>>();
  readonly #ids: Interner;
  constructor(ids: Interner) {
    this.#ids = ids;
  }
  indexOf(t: Tuple): number {
    const known = this.#byObject.get(t);
    if (known !== undefined) return known;
    const ports = t.localPort * 65536 + t.remotePort;
    let list = this.#byPorts.get(ports);
    if (list === undefined) this.#byPorts.set(ports, (list = []));
    let c = list.find((x) => x.t.localAddress === t.localAddress && x.t.remoteAddress === t.remoteAddress)?.c;
    if (c === undefined) list.push({ t, c: (c = this.#ids.internTuple(t)) });
    if (this.#byObject.size < 65536) this.#byObject.set(t, c);
    return c;
  }
}
