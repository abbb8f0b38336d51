/**
 * The request ids and 4-tuples of one event table, each kept once: rows hold their index.
 */
import { readTuple } from './decode-record.ts';
import type { Tuple } from '../shared/event-types.ts';
import { EVENT_LAYOUT } from '../shared/event-layout.ts';
import { tupleKey } from './tuple-key.ts';

const LE = true;

/*
 * Request ids and 4-tuples repeat (~44 records per request, a few dozen connections per capture),
 * and formatting them as text costs more than the rest of a record; so each is found through a
 * small direct-mapped cache keyed on its raw bytes, read as 32-bit words (DataView reads compile
 * to plain loads), two ways per set so that two busy values that hash alike do not evict each
 * other. Only a miss formats text and looks it up in the intern map.
 */
const ID_SLOTS = 1024;
const TUPLE_WORDS = EVENT_LAYOUT.tuple.size / 4;
const TUPLE_SLOTS = 1024;

/** Request ids and 4-tuples of one table, each interned once. */
export class Interner {
  readonly requestIds: string[] = [];
  readonly tuples: Tuple[] = [];
  readonly connKeys: string[] = [];
  readonly #requestIndex = new Map<string, number>();
  readonly #idWords = new Int32Array(ID_SLOTS * 4);
  readonly #idIndex = new Int32Array(ID_SLOTS).fill(-1);
  readonly #connIndex = new Map<string, number>();
  readonly #tupleWords = new Int32Array(TUPLE_SLOTS * TUPLE_WORDS);
  readonly #tupleIndex = new Int32Array(TUPLE_SLOTS).fill(-1);
  readonly #probe = new Int32Array(TUPLE_WORDS);

  /** The request index of the 16-byte id at `o`, -1 for an all-zero (untagged) id. */
  requestAt(buf: Buffer, dv: DataView, o: number): number {
    const w0 = dv.getInt32(o, LE);
    const w1 = dv.getInt32(o + 4, LE);
    const w2 = dv.getInt32(o + 8, LE);
    const w3 = dv.getInt32(o + 12, LE);
    if ((w0 | w1 | w2 | w3) === 0) return -1;
    const words = this.#idWords;
    const index = this.#idIndex;
    // Random hex ids: any word's low bits spread well.
    const slot = (w0 ^ w3) & (ID_SLOTS - 1);
    const k = slot * 4;
    if (index[slot]! >= 0 && words[k] === w0 && words[k + 1] === w1 && words[k + 2] === w2 && words[k + 3] === w3) return index[slot]!;
    const alt = slot ^ 1;
    const ka = alt * 4;
    if (index[alt]! >= 0 && words[ka] === w0 && words[ka + 1] === w1 && words[ka + 2] === w2 && words[ka + 3] === w3) return index[alt]!;
    words.copyWithin(ka, k, k + 4);
    index[alt] = index[slot]!;
    const i = this.requestIndexOf(buf.toString('hex', o, o + 16));
    words[k] = w0;
    words[k + 1] = w1;
    words[k + 2] = w2;
    words[k + 3] = w3;
    index[slot] = i;
    return i;
  }

  /** The connection index of the 40-byte tuple at `o`. */
  connAt(dv: DataView, o: number): number {
    const probe = this.#probe;
    let h = 0;
    for (let i = 0; i < TUPLE_WORDS; i++) {
      const w = dv.getInt32(o + 4 * i, LE);
      probe[i] = w;
      h = Math.imul(h ^ w, 0x9e3779b1);
    }
    // murmur3's finalizer: the words differ mostly in the port halves, which the loop alone
    // leaves clustered.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const slot = h & (TUPLE_SLOTS - 1);
    if (this.#slotHolds(slot)) return this.#tupleIndex[slot]!;
    const alt = slot ^ 1;
    if (this.#slotHolds(alt)) return this.#tupleIndex[alt]!;
    const words = this.#tupleWords;
    words.copyWithin(alt * TUPLE_WORDS, slot * TUPLE_WORDS, (slot + 1) * TUPLE_WORDS);
    this.#tupleIndex[alt] = this.#tupleIndex[slot]!;
    const c = this.internTuple(Object.freeze(readTuple(dv, o)));
    words.set(probe, slot * TUPLE_WORDS);
    this.#tupleIndex[slot] = c;
    return c;
  }

  /** The index of request id `id`, a new one the first time it is seen. */
  requestIndexOf(id: string): number {
    let i = this.#requestIndex.get(id);
    if (i === undefined) {
      i = this.requestIds.length;
      this.requestIds.push(id);
      this.#requestIndex.set(id, i);
    }
    return i;
  }

  /** One index per `tupleKey`: IPv4 and IPv4-mapped bytes read as the same text, one connection. */
  internTuple(t: Tuple): number {
    const key = tupleKey(t);
    let c = this.#connIndex.get(key);
    if (c === undefined) {
      c = this.tuples.length;
      this.tuples.push(t);
      this.connKeys.push(key);
      this.#connIndex.set(key, c);
    }
    return c;
  }

  #slotHolds(slot: number): boolean {
    if (this.#tupleIndex[slot]! < 0) return false;
    const words = this.#tupleWords;
    const probe = this.#probe;
    const k = slot * TUPLE_WORDS;
    for (let i = 0; i < TUPLE_WORDS; i++) if (words[k + i] !== probe[i]) return false;
    return true;
  }
}
