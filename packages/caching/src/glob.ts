import { globMatcher } from "@fastmcp-proxy/core";

/** Include/exclude globs: included when it matches an include (or there are none) and no exclude. */
export interface Filter {
  include?: readonly string[];
  exclude?: readonly string[];
}

export function filterOf(filter: Filter | undefined): (name: string) => boolean {
  const include = filter?.include && globMatcher(filter.include);
  const exclude = globMatcher(filter?.exclude ?? []);
  return (name) => (include === undefined || include(name)) && !exclude(name);
}

/** The value of the first pattern (exact names before globs) that matches `name`. */
export function matchFirst<T>(table: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  if (!table) return undefined;
  if (Object.hasOwn(table, name)) return table[name];
  for (const [pattern, value] of Object.entries(table)) if (globMatcher(pattern)(name)) return value;
  return undefined;
}
