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
