import picomatch from "picomatch";

/**
 * One glob matcher (picomatch), compiled once per pattern: `*` matches within one `/`-separated
 * segment, `**` across segments, `?` one character; dot-names are not special.
 */
export function matcher(glob: string): (name: string) => boolean {
  let match = compiled.get(glob);
  if (match === undefined) compiled.set(glob, (match = picomatch(glob, { dot: true })));
  return match;
}

const compiled = new Map<string, (name: string) => boolean>();

/** Include/exclude globs: included when it matches an include (or there are none) and no exclude. */
export interface Filter {
  include?: readonly string[];
  exclude?: readonly string[];
}

export function filterOf(filter: Filter | undefined): (name: string) => boolean {
  const include = filter?.include?.map(matcher);
  const exclude = filter?.exclude?.map(matcher) ?? [];
  return (name) => (include === undefined || include.some((match) => match(name))) && !exclude.some((match) => match(name));
}

/** The value of the first pattern (exact names before globs) that matches `name`. */
export function matchFirst<T>(table: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  if (!table) return undefined;
  if (Object.hasOwn(table, name)) return table[name];
  for (const [pattern, value] of Object.entries(table)) if (matcher(pattern)(name)) return value;
  return undefined;
}
