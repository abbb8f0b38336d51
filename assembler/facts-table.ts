/**
 * The AppFacts of every request of a capture, by its position in the index's RequestRows, in
 * typed arrays: correlation reads all requests' facts at once and they are kept until each
 * trace is built, so a request costs a few numbers; its AppFacts object is made for its trace.
 */
import type { Tuple } from '../shared/event-types.ts';
import { appFacts, type AppFacts, type RequestKept } from './app-facts.ts';
import type { CaptureIndex } from './index-capture.ts';
import { PackedLists } from './packed-lists.ts';
import type { RequestRows } from './request-rows.ts';

export class FactsTable {
  readonly length: number;
  readonly requests: RequestRows;
  readonly pid: Uint32Array;
  readonly inboundFd: Int32Array;
  readonly #startNs: BigInt64Array;
  readonly #endNs: BigInt64Array;
  readonly #sendStartNs: BigInt64Array;
  readonly #tid: Uint32Array;
  readonly #reqStartAt: Int32Array;
  readonly #reqEndAt: Int32Array;
  /** Positions in the request's rows of its inbound reads (list 2i) and writes (list 2i + 1). */
  readonly #inbound = new PackedLists();
  readonly #inboundTuple: (Tuple | undefined)[];
  readonly #kept = new Map<number, RequestKept>();
  readonly #warnings = new Map<number, readonly string[]>();
  /** Facts whose times a signed 64-bit integer does not hold (a damaged record's). */
  readonly #outOfRange = new Map<number, AppFacts>();

  /** The facts of every request of `index`. */
  constructor(index: CaptureIndex) {
    const requests = index.byRequest;
    const n = requests.rows.length;
    this.length = n;
    this.requests = requests;
    this.#startNs = new BigInt64Array(n);
    this.#endNs = new BigInt64Array(n);
    this.#sendStartNs = new BigInt64Array(n);
    this.pid = new Uint32Array(n);
    this.inboundFd = new Int32Array(n);
    this.#tid = new Uint32Array(n);
    this.#reqStartAt = new Int32Array(n);
    this.#reqEndAt = new Int32Array(n);
    this.#inboundTuple = new Array<Tuple | undefined>(n);
    const ids = requests.positions.ids;
    for (let i = 0; i < n; i++) {
      const f = appFacts(ids[i]!, requests.rows.at(i), index);
      this.#startNs[i] = f.startNs;
      this.#endNs[i] = f.endNs;
      this.#sendStartNs[i] = f.sendStartNs;
      if (this.#startNs[i] !== f.startNs || this.#endNs[i] !== f.endNs || this.#sendStartNs[i] !== f.sendStartNs) this.#outOfRange.set(i, f);
      this.pid[i] = f.pid;
      this.inboundFd[i] = f.inboundFd;
      this.#tid[i] = f.tid;
      this.#reqStartAt[i] = f.reqStartAt;
      this.#reqEndAt[i] = f.reqEndAt;
      this.#inbound.add(f.inboundRecvsAt);
      this.#inbound.add(f.inboundSendsAt);
      this.#inboundTuple[i] = f.inboundTuple;
      if (f.kept !== undefined) this.#kept.set(i, f.kept);
      if (f.warnings.length > 0) this.#warnings.set(i, f.warnings);
    }
    this.#inbound.trim();
  }

  requestId(i: number): string {
    return this.requests.positions.ids[i]!;
  }

  startNs(i: number): bigint {
    return this.#outOfRange.size === 0 ? this.#startNs[i]! : (this.#outOfRange.get(i)?.startNs ?? this.#startNs[i]!);
  }

  endNs(i: number): bigint {
    return this.#outOfRange.size === 0 ? this.#endNs[i]! : (this.#outOfRange.get(i)?.endNs ?? this.#endNs[i]!);
  }

  sendStartNs(i: number): bigint {
    return this.#outOfRange.size === 0 ? this.#sendStartNs[i]! : (this.#outOfRange.get(i)?.sendStartNs ?? this.#sendStartNs[i]!);
  }

  inboundTuple(i: number): Tuple | undefined {
    return this.#inboundTuple[i];
  }

  /** The facts of the request at position `i`. */
  at(i: number): AppFacts {
    return {
      requestId: this.requestId(i),
      rows: this.requests.rows.at(i),
      reqStartAt: this.#reqStartAt[i]!,
      reqEndAt: this.#reqEndAt[i]!,
      inboundRecvsAt: this.#inbound.at(2 * i),
      inboundSendsAt: this.#inbound.at(2 * i + 1),
      kept: this.#kept.get(i),
      pid: this.pid[i]!,
      tid: this.#tid[i]!,
      inboundFd: this.inboundFd[i]!,
      inboundTuple: this.#inboundTuple[i],
      startNs: this.startNs(i),
      endNs: this.endNs(i),
      sendStartNs: this.sendStartNs(i),
      warnings: this.#warnings.get(i) ?? [],
    };
  }
}
