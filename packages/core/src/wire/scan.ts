// One pass over a large message's bytes, instead of a depth scan and then JSON.parse of it all:
// whether it is JSON at all, whether it nests too deeply, and where a response's result and the
// result's members lie. The result is then read member by member, when someone reads it
// (`lazyResult`), and its bytes can be written through to a client as they came (wire/raw.ts).

/** The bytes are not JSON. */
export const INVALID = "invalid";
/** They nest deeper than the limit. */
export const TOO_DEEP = "deep";

/** A JSON text whose top level is an object with exactly one object or array member (a result, params, error). */
export interface Scanned {
  /** The one object or array member of the top-level object: from its first byte to past its last. */
  readonly start: number;
  readonly end: number;
  /** That member's own members when it is an object: key start, key end, value start, value end, … */
  readonly members: readonly number[] | undefined;
  /** How many members the top-level object has (a repeated key shows as one more than JSON.parse keeps). */
  readonly keys: number;
  /** A CR or LF between tokens: the text cannot stand on one line (stdio) or one `data:` field (SSE) as it is. */
  readonly multiline: boolean;
}

const OBJECT = 1;
const ARRAY = 2;
// What may come next.
const VALUE = 0;
const VALUE_OR_CLOSE = 1; // just after [
const KEY = 2;
const KEY_OR_CLOSE = 3; // just after {
const COLON = 4;
const NEXT = 5; // after a value: a comma or the container's close
const DONE = 6;

/**
 * Checks JSON text as JSON.parse would (UTF-8 is checked before, by the caller), nesting bounded by
 * `maxDepth`; for a top-level object with exactly one object or array member, says where it lies.
 * Undefined for valid JSON of any other shape.
 */
export function scanJson(bytes: Uint8Array, maxDepth: number): Scanned | typeof INVALID | typeof TOO_DEEP | undefined {
  const kinds: number[] = [];
  const n = bytes.length;
  let depth = 0;
  let state = VALUE;
  let keys = 0;
  let inner = 0;
  let start = -1;
  let end = -1;
  let members: number[] | undefined;
  let multiline = false;
  let i = 0;
  while (i < n) {
    const c = bytes[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      if (c !== 0x20 && c !== 0x09) multiline = true;
      i++;
      continue;
    }
    if (state === KEY || state === KEY_OR_CLOSE) {
      if (c === 0x7d && state === KEY_OR_CLOSE) {
        state = NEXT;
      } else {
        if (c !== 0x22) return INVALID;
        const to = skipString(bytes, i);
        if (to < 0) return INVALID;
        if (depth === 1) keys++;
        else if (depth === 2 && members) members.push(i, to);
        i = to;
        state = COLON;
        continue;
      }
    } else if (state === COLON) {
      if (c !== 0x3a) return INVALID;
      i++;
      state = VALUE;
      continue;
    } else if (state === NEXT) {
      if (c === 0x2c) {
        i++;
        state = kinds[depth] === OBJECT ? KEY : VALUE;
        continue;
      }
      if (c !== (kinds[depth] === OBJECT ? 0x7d : 0x5d)) return INVALID;
    } else if (state === DONE) {
      return INVALID;
    } else if (c === 0x5d && state === VALUE_OR_CLOSE) {
      state = NEXT;
    } else {
      if (depth === 2 && members) members.push(i);
      if (c === 0x7b || c === 0x5b) {
        if (++depth > maxDepth) return TOO_DEEP;
        kinds[depth] = c === 0x7b ? OBJECT : ARRAY;
        if (depth === 2 && ++inner === 1) {
          start = i;
          if (c === 0x7b) members = [];
        }
        i++;
        state = c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
        continue;
      }
      const to = c === 0x22 ? skipString(bytes, i) : c === 0x2d || (c >= 0x30 && c <= 0x39) ? skipNumber(bytes, i) : skipLiteral(bytes, i);
      if (to < 0) return INVALID;
      i = to;
      if (depth === 2 && members) members.push(i);
      state = depth === 0 ? DONE : NEXT;
      continue;
    }
    // A container closes (state was NEXT, or an empty one): it is a value of the one around it.
    i++;
    depth--;
    if (depth === 1 && inner === 1 && end < 0) end = i;
    else if (depth === 2 && members) members.push(i);
    state = depth === 0 ? DONE : NEXT;
  }
  if (state !== DONE) return INVALID;
  if (kinds[1] !== OBJECT || inner !== 1) return undefined;
  return { start, end, members, keys, multiline };
}

/** Past the string starting at `i` (its opening quote), or -1 when it is not a JSON string. */
function skipString(bytes: Uint8Array, i: number): number {
  const n = bytes.length;
  for (let j = i + 1; j < n; j++) {
    const c = bytes[j]!;
    if (c === 0x22) return j + 1;
    if (c === 0x5c) {
      const e = bytes[j + 1];
      if (e === 0x75) {
        if (!(hex(bytes[j + 2]) && hex(bytes[j + 3]) && hex(bytes[j + 4]) && hex(bytes[j + 5]))) return -1;
        j += 5;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j++;
      } else {
        return -1;
      }
    } else if (c < 0x20) {
      return -1;
    }
  }
  return -1;
}

function hex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** Past the number at `i` (-? int frac? exp?), or -1. */
function skipNumber(bytes: Uint8Array, i: number): number {
  let j = i;
  if (bytes[j] === 0x2d) j++;
  if (bytes[j] === 0x30) j++;
  else if (digit(bytes[j])) while (digit(bytes[j])) j++;
  else return -1;
  if (bytes[j] === 0x2e) {
    j++;
    if (!digit(bytes[j])) return -1;
    while (digit(bytes[j])) j++;
  }
  if (bytes[j] === 0x65 || bytes[j] === 0x45) {
    j++;
    if (bytes[j] === 0x2b || bytes[j] === 0x2d) j++;
    if (!digit(bytes[j])) return -1;
    while (digit(bytes[j])) j++;
  }
  return j;
}

function digit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

const LITERALS = ["true", "false", "null"].map((word) => Buffer.from(word));

/** Past the literal at `i` (true, false, null), or -1. */
function skipLiteral(bytes: Uint8Array, i: number): number {
  for (const word of LITERALS) {
    if (bytes[i] !== word[0]) continue;
    for (let k = 1; k < word.length; k++) if (bytes[i + k] !== word[k]) return -1;
    return i + word.length;
  }
  return -1;
}

/**
 * A response's result read member by member: each member is parsed (and frozen) when first read,
 * so a result nobody reads is never parsed. The object is frozen: a result is replaced, never
 * changed (see wire/raw.ts). `members` are valid JSON, as `scanJson` found them.
 */
export function lazyResult(bytes: Buffer, members: readonly number[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (let k = 0; k < members.length; k += 4) {
    const key = JSON.parse(bytes.toString("utf8", members[k], members[k + 1])) as string;
    const from = members[k + 2];
    const to = members[k + 3];
    let value: unknown;
    let read = false;
    const get = () => {
      if (!read) {
        value = deepFreeze(JSON.parse(bytes.toString("utf8", from, to)));
        read = true;
      }
      return value;
    };
    // A key given twice: the last one counts, as with JSON.parse.
    Object.defineProperty(result, key, { get, enumerable: true, configurable: true });
  }
  return Object.freeze(result);
}

/** Freezes a parsed JSON value and everything in it, `levels` deep (a deeper message is refused anyway). */
export function deepFreeze<T>(value: T, levels = Infinity): T {
  if (typeof value !== "object" || value === null || levels <= 0 || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) for (const item of value) deepFreeze(item, levels - 1);
  else for (const key in value) deepFreeze((value as Record<string, unknown>)[key], levels - 1);
  return value;
}
