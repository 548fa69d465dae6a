import picomatch from "picomatch";

/**
 * The proxy's one glob matcher, for names (tools, prompts, backends) and URIs alike, as core's
 * rules, auth's rules and the cache's filters use it:
 * - `*` matches any run of characters, `/` and dot-names included, so a rule on `secret://*`
 *   covers everything under `secret://` (`**` is the same); `?` matches one character;
 * - nothing else is special: `{id}` in a URI template, `[`, `!` and `(` are themselves;
 * - a name with a `.` or `..` path segment (`files://public/../secret`) is matched only by a pattern
 *   equal to it, never by a wildcard, so an allowlist never admits a path traversal.
 * Each pattern is compiled once.
 */
export function globMatcher(globs: string | readonly string[]): (name: string) => boolean {
  const matchers = (typeof globs === "string" ? [globs] : globs).map(compile);
  return (name) => matchers.some((match) => match(name));
}

/** `*` crosses `/` (picomatch's bash mode), dot-names match, and every other glob feature is off. */
const OPTIONS: picomatch.PicomatchOptions = { bash: true, dot: true, nobrace: true, nobracket: true, noextglob: true, nonegate: true, windows: false };
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;
const compiled = new Map<string, (name: string) => boolean>();

function compile(glob: string): (name: string) => boolean {
  let match = compiled.get(glob);
  if (match === undefined) {
    const wildcard = picomatch(glob, OPTIONS);
    match = (name) => (DOT_SEGMENT.test(name) ? name === glob : wildcard(name));
    compiled.set(glob, match);
  }
  return match;
}
