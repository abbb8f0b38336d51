/**
 * A read-only map from request ids to values kept as numbers by the request's position: the ids
 * and their positions are shared by every such map of a capture, so one costs its values alone.
 */
export interface Positions {
  /** The ids by position. */
  readonly ids: readonly string[];
  /** The position of each id. */
  readonly of: ReadonlyMap<string, number>;
}

export function positionsOf(ids: readonly string[]): Positions {
  const of = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) of.set(ids[i]!, i);
  return { ids, of };
}

export class PositionMap<V> implements ReadonlyMap<string, V> {
  readonly positions: Positions;
  readonly #order: ArrayLike<number> | undefined;
  readonly #valueAt: (position: number) => V | undefined;

  /**
   * The values `valueAt(position)` gives: with `order`, of the positions it lists (`valueAt` gives
   * undefined for others), iterated in that order; without, of every position, in order.
   */
  constructor(positions: Positions, valueAt: (position: number) => V | undefined, order?: ArrayLike<number>) {
    this.positions = positions;
    this.#valueAt = valueAt;
    this.#order = order;
  }

  get size(): number {
    return this.#order === undefined ? this.positions.ids.length : this.#order.length;
  }

  get(id: string): V | undefined {
    const i = this.positions.of.get(id);
    return i === undefined ? undefined : this.#valueAt(i);
  }

  /** The value of the id at `position` of `positions`. */
  at(position: number): V | undefined {
    return this.#valueAt(position);
  }

  has(id: string): boolean {
    const i = this.positions.of.get(id);
    return i !== undefined && (this.#order === undefined || this.#valueAt(i) !== undefined);
  }

  forEach(callback: (value: V, id: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [id, value] of this) callback.call(thisArg, value, id, this);
  }

  *entries(): MapIterator<[string, V]> {
    const ids = this.positions.ids;
    const order = this.#order;
    const n = order === undefined ? ids.length : order.length;
    for (let k = 0; k < n; k++) {
      const i = order === undefined ? k : order[k]!;
      yield [ids[i]!, this.#valueAt(i) as V];
    }
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}
