/** `*` any run of characters, `?` one; everything else literal. Whole-string match. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

/** Include/exclude globs: included when it matches an include (or there are none) and no exclude. */
export interface Filter {
  include?: readonly string[];
  exclude?: readonly string[];
}

export function filterOf(filter: Filter | undefined): (name: string) => boolean {
  const include = filter?.include?.map(globToRegExp);
  const exclude = filter?.exclude?.map(globToRegExp) ?? [];
  return (name) => (include === undefined || include.some((r) => r.test(name))) && !exclude.some((r) => r.test(name));
}

/** The value of the first pattern (exact names before globs) that matches `name`. */
export function matchFirst<T>(table: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  if (!table) return undefined;
  if (Object.hasOwn(table, name)) return table[name];
  for (const [pattern, value] of Object.entries(table)) {
    if ((pattern.includes("*") || pattern.includes("?")) && globToRegExp(pattern).test(name)) return value;
  }
  return undefined;
}
