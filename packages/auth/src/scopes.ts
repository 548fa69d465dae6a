/** Which scopes a broader one implies, e.g. `{ admin: ["tools:write"], "tools:write": ["tools:read"] }`. */
export type ScopeImplications = Readonly<Record<string, readonly string[]>>;

/** The granted scopes with everything they imply, transitively. */
export function expandScopes(granted: readonly string[], implies: ScopeImplications = {}): Set<string> {
  const all = new Set<string>();
  const pending = [...granted];
  for (let scope = pending.pop(); scope !== undefined; scope = pending.pop()) {
    if (all.has(scope)) continue;
    all.add(scope);
    pending.push(...(implies[scope] ?? []));
  }
  return all;
}

/** The needed scopes the granted ones do not cover (empty when all are covered). */
export function missingScopes(granted: ReadonlySet<string>, needed: readonly string[]): string[] {
  return needed.filter((scope) => !granted.has(scope));
}

/** Scopes from a `scope` claim (space-separated) or an `scp` claim (array or string). */
export function scopesFromClaims(claims: Record<string, unknown>): string[] {
  for (const value of [claims.scope, claims.scp]) {
    if (typeof value === "string") return value.split(" ").filter(Boolean);
    if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string");
  }
  return [];
}

/** Two space-separated scope lists as one, each scope once (SEP-2350: a new authorization keeps what was granted). */
export function unionScope(...lists: (string | null | undefined)[]): string | undefined {
  const all = new Set(lists.flatMap((list) => list?.split(" ").filter(Boolean) ?? []));
  return all.size ? [...all].join(" ") : undefined;
}
