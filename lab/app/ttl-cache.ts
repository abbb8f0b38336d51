/**
 * A bounded in-memory cache with expiry. Time is passed in (ms) so the cache stays pure;
 * when full, the oldest inserted entry goes first.
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`maxEntries must be a positive integer, got ${maxEntries}`);
    if (!(ttlMs > 0)) throw new Error(`ttlMs must be positive, got ${ttlMs}`);
  }

  get(key: string, nowMs: number): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAtMs <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, nowMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAtMs: nowMs + this.ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}
