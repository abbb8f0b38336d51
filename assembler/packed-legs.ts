/**
 * nginx's legs of every request (correlate-nginx.ts), packed by request position: a leg costs
 * its rows and pid, not objects and arrays, until its trace is built.
 */
import type { NginxLegRows } from './correlate-nginx.ts';
import { PackedLists } from './packed-lists.ts';
import { PositionMap, type Positions } from './position-map.ts';

type Upstream = Pick<NginxLegRows, 'pid' | 'upstreamWrites' | 'upstreamReads'>;
type ClientSide = Pick<NginxLegRows, 'clientReads' | 'clientWrites'>;

const NO_ROWS: readonly number[] = Object.freeze([]);

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
  finish(upstream: ReadonlyMap<string, Upstream>): ReadonlyMap<string, NginxLegRows> {
    const sides = this.#sides.trim();
    const sideOf = (requestId: string, at: number | undefined): ClientSide => {
      const k = at === undefined ? -1 : this.#sideAt[at]!;
      if (k >= 0) return { clientReads: sides.at(k), clientWrites: sides.at(k + 1) };
      return this.#otherSides.get(requestId) ?? { clientReads: NO_ROWS, clientWrites: NO_ROWS };
    };
    const positions = this.#positions;
    const numbered = [...upstream.keys()].every((id) => positions.of.has(id));
    if (!numbered) {
      const legs = new Map<string, NginxLegRows>();
      for (const [requestId, leg] of upstream) {
        legs.set(requestId, { pid: leg.pid, upstreamWrites: exact(leg.upstreamWrites), upstreamReads: exact(leg.upstreamReads), ...sideOf(requestId, undefined) });
      }
      return legs;
    }
    const legAt = new Int32Array(positions.ids.length).fill(-1);
    const order = new Int32Array(upstream.size);
    const pid = new Uint32Array(upstream.size);
    const rows = new PackedLists();
    let n = 0;
    for (const [requestId, leg] of upstream) {
      const at = positions.of.get(requestId)!;
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

/** `rows` at its length: a list filled by push keeps room for more. */
const exact = (rows: readonly number[]): readonly number[] => (rows.length === 0 ? NO_ROWS : rows.slice());
