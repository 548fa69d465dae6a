/** One glob or several: `*` matches any run of characters, `?` one character. */
export type Globs = string | readonly string[];

const compiled = new Map<string, RegExp>();

function regex(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    re = new RegExp(`^${body}$`, "s");
    compiled.set(glob, re);
  }
  return re;
}

export function matches(globs: Globs, value: string): boolean {
  return (typeof globs === "string" ? [globs] : globs).some((glob) => regex(glob).test(value));
}
