/**
 * A stored entry: when it expires (by the cache's clock), the generation stamps it was read under,
 * and the result's JSON. One string, so a hit is a fresh parse that no caller can have changed.
 */
export interface Entry {
  readonly expiresAt: number;
  readonly generations: string;
  readonly json: string;
}

export function encodeEntry(entry: Entry): string {
  return `${entry.expiresAt}\n${entry.generations}\n${entry.json}`;
}

/** Undefined for anything that is not an entry this version wrote (treated as a miss). */
export function decodeEntry(text: string | undefined): Entry | undefined {
  if (text === undefined) return undefined;
  const first = text.indexOf("\n");
  const second = first < 0 ? -1 : text.indexOf("\n", first + 1);
  if (second < 0) return undefined;
  const expiresAt = Number(text.slice(0, first));
  if (!Number.isFinite(expiresAt)) return undefined;
  return { expiresAt, generations: text.slice(first + 1, second), json: text.slice(second + 1) };
}
