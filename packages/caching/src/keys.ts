import { LRUCache } from "lru-cache";
import { digest } from "./canonical.js";

/** The methods the cache can answer. Lists are served from the proxy's mirror and never cached here. */
export type CachedMethod = "resources/read" | "prompts/get" | "tools/call";

/** What a list_changed names: the kind of component a cached method reads. */
export type ComponentKind = "tools" | "resources" | "prompts";

export const KIND_OF: Record<CachedMethod, ComponentKind> = { "resources/read": "resources", "prompts/get": "prompts", "tools/call": "tools" };

/** One cacheable thing on one backend: a tool or prompt by the backend's own name, a resource by the backend's own URI. */
export interface Target {
  readonly method: CachedMethod;
  /** The backend's configured name (what invalidation names). */
  readonly backend: string;
  /** A digest of the backend's whole resolved spec (see origin.ts): two deployments' "weather" on one Redis stay apart. */
  readonly origin?: string;
  readonly name: string;
}

/** Every entry's key starts with this (generation stamps with "g:"): what stores count as entries. */
export const ENTRY_PREFIX = "e:";

/** The entry's key: method, backend (name and origin), backend name or URI, partition and canonical arguments, hashed. */
export function entryKey(target: Target, partition: string, args: string): string {
  return `${ENTRY_PREFIX}${digest(["v2", target.method, target.backend, target.origin ?? "", target.name, partition, args])}`;
}

/**
 * The generation stamps an entry must match, broadest first: everything, the backend, the
 * backend's components of that kind, and that one component. Invalidating bumps one of them.
 */
export function generationKeys(target: Target): readonly string[] {
  const id = `${target.method}\0${target.backend}\0${target.name}`;
  let keys = known.get(id);
  if (keys === undefined) {
    const kind = KIND_OF[target.method];
    keys = [ALL, backendGeneration(target.backend), kindGeneration(target.backend, kind), componentGeneration(target.backend, kind, target.name)];
    known.set(id, keys);
  }
  return keys;
}

// Hashing four keys per request is most of a hit's cost: the most recent targets' are kept.
const known = new LRUCache<string, readonly string[]>({ max: 10_000 });

export const ALL = "g:*";
export const backendGeneration = (backend: string) => `g:b:${digest([backend])}`;
export const kindGeneration = (backend: string, kind: ComponentKind) => `g:k:${digest([backend, kind])}`;
export const componentGeneration = (backend: string, kind: ComponentKind, name: string) => `g:c:${digest([backend, kind, name])}`;
