import type { Backend } from "@fastmcp-proxy/core";
import { canonical, digest } from "./canonical.js";

/**
 * Where a backend's answers come from, as one opaque digest: its connector (URL, or command and
 * args) and, for a config server, its whole resolved entry (args, cwd, env, headers, protocol,
 * rules, and its `auth`), all but the cache's own section. Two deployments whose same-named
 * backends differ in anything that can change an answer never share an entry. Secrets go into the
 * hash only, never into a key as written.
 */
export function originOf(backend: Backend): string {
  let origin = origins.get(backend);
  if (origin === undefined) {
    const { cache: _, ...spec } = (backend.config ?? {}) as Record<string, unknown>;
    origin = digest([backend.connector.label, canonical(spec, UNBOUNDED) ?? ""]);
    origins.set(backend, origin);
  }
  return origin;
}

const origins = new WeakMap<Backend, string>();
const UNBOUNDED = { maxDepth: 64, maxBytes: Number.MAX_SAFE_INTEGER };

/** Backend auth kinds (the auth package's `mcpServers.<name>.auth.type`) that act with each caller's own token. */
const PER_CALLER_AUTH: ReadonlySet<string> = new Set(["token_exchange", "per_user", "passthrough"]);

/** Whether the backend answers with each caller's own credentials, as its config's `auth` says (`id_jag` does unless given one `idToken` for all). */
export function actsPerCaller(backend: Backend): boolean {
  const auth = (backend.config as { auth?: { type?: unknown; idToken?: unknown } } | undefined)?.auth;
  if (auth?.type === "id_jag") return auth.idToken === undefined;
  return typeof auth?.type === "string" && PER_CALLER_AUTH.has(auth.type);
}
