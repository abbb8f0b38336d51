/**
 * nginx's legs of every request (correlate-nginx.ts), packed by request position: a leg costs
 * its rows and pid, not objects and arrays, until its trace is built.
 */
import type { NginxLegRows } from './correlate-nginx.ts';
import type { PackedRowGroups } from './correlate-rows.ts';
import { PackedLists } from './packed-lists.ts';
import { PositionMap, type Positions } from './position-map.ts';

export type UpstreamLeg = Pick<NginxLegRows, 'pid' | 'upstreamWrites' | 'upstreamReads'>;
type ClientSide = Pick<NginxLegRows, 'clientReads' | 'clientWrites'>;

const NO_ROWS: readonly number[] = Object.freeze([]);

/**
 * nginx's upstream rows of each request, the requests numbered in order of their first row
 * (`ids`): its writes filed under twice its number, its reads under that plus one.
 */
export class UpstreamLegs {
  readonly ids: readonly string[];
  readonly #pids: readonly number[];
  readonly #groupOf: Int32Array;
  readonly #rows: PackedLists;

  constructor(ids: readonly string[], pids: readonly number[], filed: PackedRowGroups) {
    this.ids = ids;
    this.#pids = pids;
    this.#groupOf = new Int32Array(2 * ids.length).fill(-1);
    for (let g = 0; g < filed.keys.length; g++) this.#groupOf[filed.keys[g]!] = g;
    this.#rows = filed.rows;
  }

  get length(): number {
    return this.ids.length;
  }

  /** How many upstream writes leg `k` has. */
  writes(k: number): number {
    const g = this.#groupOf[2 * k]!;
    return g < 0 ? 0 : this.#rows.sizeOf(g);
  }

  /** The first upstream write of leg `k` (it has one: `writes(k) > 0`). */
  firstWrite(k: number): number {
    return this.#rows.get(this.#groupOf[2 * k]!, 0);
  }

  /** Leg `k`, its lists made now. */
  leg(k: number): UpstreamLeg {
    return { pid: this.#pids[k]!, upstreamWrites: this.#list(2 * k), upstreamReads: this.#list(2 * k + 1) };
  }

  #list(key: number): readonly number[] {
    const g = this.#groupOf[key]!;
    return g < 0 ? NO_ROWS : this.#rows.at(g);
  }
}

/** Legs of the requests `positions` numbers: client sides as they are found, then the upstream sides, in the legs' order. */
export class LegsBuilder {
  readonly #positions: Positions;
  /** Per position, the number of its client side in `#sides` (reads, then writes), -1 for none. */
  readonly #sideAt: Int32Array;
  readonly #sides = new PackedLists();
  /** Client sides of requests `positions` does not number. */
  readonly #otherSides = new Map<string, ClientSide>();

  constructor(positions: Positions) {
    this.#positions = positions;
    this.#sideAt = new Int32Array(positions.ids.length).fill(-1);
  }

  /** Sets the client side of `requestId`'s leg. */
  setClientSide(requestId: string, side: ClientSide): void {
    const at = this.#positions.of.get(requestId);
    if (at === undefined) {
      this.#otherSides.set(requestId, side);
      return;
    }
    this.#sideAt[at] = this.#sides.length;
    this.#sides.add(side.clientReads);
    this.#sides.add(side.clientWrites);
  }

  /** The legs of the requests of `upstream`, in its order, with the client sides set. */
  finish(upstream: UpstreamLegs): ReadonlyMap<string, NginxLegRows> {
    const sides = this.#sides.trim();
    const sideOf = (requestId: string, at: number | undefined): ClientSide => {
      const k = at === undefined ? -1 : this.#sideAt[at]!;
      if (k >= 0) return { clientReads: sides.at(k), clientWrites: sides.at(k + 1) };
      return this.#otherSides.get(requestId) ?? { clientReads: NO_ROWS, clientWrites: NO_ROWS };
    };
    const positions = this.#positions;
    const numbered = upstream.ids.every((id) => positions.of.has(id));
    if (!numbered) {
      const legs = new Map<string, NginxLegRows>();
      for (let k = 0; k < upstream.length; k++) legs.set(upstream.ids[k]!, { ...upstream.leg(k), ...sideOf(upstream.ids[k]!, undefined) });
      return legs;
    }
    // Copied in leg order so that `upstream` can go: answering from it instead raised the peak
    // memory of assembling 100k requests by ~60 MiB.
    const legAt = new Int32Array(positions.ids.length).fill(-1);
    const order = new Int32Array(upstream.length);
    const pid = new Uint32Array(upstream.length);
    const rows = new PackedLists();
    let n = 0;
    for (let k = 0; k < upstream.length; k++) {
      const leg = upstream.leg(k);
      const at = positions.of.get(upstream.ids[k]!)!;
      legAt[at] = n;
      order[n] = at;
      pid[n] = leg.pid;
      rows.add(leg.upstreamWrites);
      rows.add(leg.upstreamReads);
      n++;
    }
    rows.trim();
    return new PositionMap(
      positions,
      (at) => {
        const k = legAt[at]!;
        if (k < 0) return undefined;
        return { pid: pid[k]!, upstreamWrites: rows.at(2 * k), upstreamReads: rows.at(2 * k + 1), ...sideOf(positions.ids[at]!, at) };
      },
      order,
    );
  }
}
