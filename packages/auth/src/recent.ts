/**
 * A map of at most `max` entries that drops the least recently used first, nearly: as quick-lru
 * does, entries go into a young generation, and when it holds half of `max` it becomes the old one
 * and the old one is dropped; a hit in the old one moves back to the young. A hit in the young one
 * changes nothing, so a hot key costs no delete and insert per use (a Map that does both on every
 * request keeps making new hash tables, each kept alive by the last: more for the GC to copy).
 */
export class RecentMap<K, V> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  readonly #half: number;

  constructor(readonly max: number) {
    this.#half = Math.floor(max / 2);
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old === undefined) return undefined;
    this.#old.delete(key);
    this.#add(key, old);
    return old;
  }

  set(key: K, value: V): void {
    if (this.max <= 0) return;
    if (this.#young.has(key)) return void this.#young.set(key, value);
    this.#old.delete(key);
    this.#add(key, value);
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #add(key: K, value: V): void {
    if (this.#young.size >= Math.max(this.#half, 1)) {
      // With room for one entry, no old generation.
      this.#old = this.#half > 0 ? this.#young : new Map();
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
