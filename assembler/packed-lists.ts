/**
 * Many short lists of row numbers (or positions) in one Int32Array, each list a stretch of it:
 * a list costs its numbers, not an array object and its spare room.
 */
const NONE: readonly number[] = Object.freeze([]);

export class PackedLists {
  #values: Int32Array = new Int32Array(1024);
  #used = 0;
  #starts: Int32Array = new Int32Array(257);
  #count = 0;

  /** Lists already packed: list `i` is `values` from `starts[i]` to `starts[i + 1]`. */
  static of(values: Int32Array, starts: Int32Array): PackedLists {
    const lists = new PackedLists();
    lists.#values = values;
    lists.#starts = starts;
    lists.#count = starts.length - 1;
    lists.#used = starts[starts.length - 1]!;
    return lists;
  }

  get length(): number {
    return this.#count;
  }

  /** Appends `list` as the next list; returns its number. */
  add(list: ArrayLike<number>): number {
    const n = list.length;
    if (this.#used + n > this.#values.length) this.#values = grown(this.#values, this.#used + n);
    for (let i = 0; i < n; i++) this.#values[this.#used + i] = list[i]!;
    this.#used += n;
    if (this.#count + 2 > this.#starts.length) this.#starts = grown(this.#starts, this.#count + 2);
    this.#count++;
    this.#starts[this.#count] = this.#used;
    return this.#count - 1;
  }

  /** List `i` as a new array. */
  at(i: number): readonly number[] {
    const from = this.#starts[i]!;
    const to = this.#starts[i + 1]!;
    if (from === to) return NONE;
    const out = new Array<number>(to - from);
    for (let k = from; k < to; k++) out[k - from] = this.#values[k]!;
    return out;
  }

  /** How many numbers list `i` holds. */
  sizeOf(i: number): number {
    return this.#starts[i + 1]! - this.#starts[i]!;
  }

  /** Number `k` of list `i`. */
  get(i: number, k: number): number {
    return this.#values[this.#starts[i]! + k]!;
  }

  /** Lets go of the spare room: no more lists come. */
  trim(): this {
    this.#values = this.#values.slice(0, this.#used);
    this.#starts = this.#starts.slice(0, this.#count + 1);
    return this;
  }
}

/** `a` copied into an array of at least `atLeast` numbers, and at least twice its length. */
export function grown(a: Int32Array, atLeast: number): Int32Array {
  const out = new Int32Array(Math.max(atLeast, a.length * 2));
  out.set(a);
  return out;
}
