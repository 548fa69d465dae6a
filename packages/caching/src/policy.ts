import { identityOf, partitionOf, type Backend, type ProxyContext } from "@fastmcp-proxy/core";
import { KEY_LIMITS, canonical, type KeyLimits } from "./canonical.js";
import { filterOf, matchFirst } from "./glob.js";
import type { CachedMethod, Target } from "./keys.js";
import { originOf } from "./origin.js";
import { DEFAULT_TTLS, type CachingOptions, type Partition, type ToolCacheRule } from "./options.js";

/** A request the cache may answer: what it targets, for whom, under which arguments, for how long. */
export interface Cacheable {
  readonly target: Target;
  readonly partition: string;
  readonly partitionMode: Partition;
  readonly args: string;
  readonly ttlMs: number;
}

/** Why a request goes past the cache. */
export type BypassReason =
  | "not-installed" | "no-component" | "hidden" | "disabled" | "excluded" | "not-listed" | "not-read-only" | "task" | "mrtr" | "no-identity" | "ephemeral" | "key-too-large"
  | "store-open" | "store-error" | "store-timeout";

export const CACHED_METHODS: ReadonlySet<string> = new Set<CachedMethod>(["resources/read", "prompts/get", "tools/call"]);

interface ToolView {
  readonly kind: "tool";
  readonly backendName: string;
  readonly definition: { annotations?: { readOnlyHint?: boolean } };
}

/** Decides, from the options alone, whether and how each request is cached. */
export class Policy {
  readonly #options: CachingOptions;
  readonly #limits: KeyLimits;
  readonly #resources: (uri: string) => boolean;
  readonly #prompts: (name: string) => boolean;
  readonly #servers = new Map<string, { resources: (uri: string) => boolean; prompts: (name: string) => boolean }>();
  /** Whether a backend acts with each caller's own credentials: the proxy's `isPerCaller`, set by install(). */
  perCaller: (backend: Backend) => boolean = () => false;

  constructor(options: CachingOptions) {
    this.#options = options;
    this.#limits = { ...KEY_LIMITS, ...options.keyLimits };
    this.#resources = filterOf(options.resources);
    this.#prompts = filterOf(options.prompts);
    for (const [name, rules] of Object.entries(options.servers ?? {})) {
      this.#servers.set(name, { resources: filterOf(rules.resources), prompts: filterOf(rules.prompts) });
    }
  }

  /** The longest TTL configured anywhere: generation stamps must outlive every entry. */
  get maxTtlMs(): number {
    const all = [DEFAULT_TTLS, this.#options.ttl ?? {}, ...Object.values(this.#options.servers ?? {}).map((s) => s.ttl ?? {})];
    const tools = [this.#options.tools, ...Object.values(this.#options.servers ?? {}).map((s) => s.tools)].flatMap((t) => Object.values(t ?? {}));
    return Math.max(...all.flatMap((t) => Object.values(t)), ...tools.map((r) => (r === true ? 0 : (r.ttlMs ?? 0))));
  }

  /** The operator's rule for a tool, if it is named for caching (server rules by backend name first). */
  toolRule(tool: { name: string; backend: { name: string }; backendName: string }): ToolCacheRule | undefined {
    return matchFirst(this.#options.servers?.[tool.backend.name]?.tools, tool.backendName) ?? matchFirst(this.#options.tools, tool.name);
  }

  decide(ctx: ProxyContext): Cacheable | BypassReason {
    const method = ctx.method as CachedMethod;
    const component = ctx.component;
    if (!component) return "no-component";
    // A target hidden from this caller is answered as unknown, by core's terminal: never from here.
    if (ctx.isHidden(component)) return "hidden";
    const backend = component.backend.name;
    const server = this.#options.servers?.[backend];
    if (server?.enabled === false) return "disabled";
    const params = ctx.params as Record<string, unknown>;
    let ttlMs = server?.ttl?.[method] ?? this.#options.ttl?.[method] ?? DEFAULT_TTLS[method];
    let name: string;
    let args: unknown = {};
    if (method === "tools/call") {
      if (component.kind !== "tool") return "no-component";
      const rule = this.toolRule(component);
      if (rule === undefined) return "not-listed";
      // Annotations come from the backend: they can refuse caching, never enable it.
      const force = rule !== true && rule.force === true;
      if ((component as ToolView).definition.annotations?.readOnlyHint !== true && !force) return "not-read-only";
      if (rule !== true && rule.ttlMs !== undefined) ttlMs = rule.ttlMs;
      if (params.task !== undefined) return "task";
      name = component.backendName;
      args = params.arguments ?? {};
    } else if (method === "prompts/get") {
      if (component.kind !== "prompt") return "no-component";
      if (!this.#prompts(component.name) || (server && !this.#servers.get(backend)!.prompts(component.name))) return "excluded";
      name = component.backendName;
      args = params.arguments ?? {};
    } else {
      if (component.kind !== "resource" && component.kind !== "template") return "no-component";
      const uri = String(params.uri);
      if (!this.#resources(uri) || (server && !this.#servers.get(backend)!.resources(uri))) return "excluded";
      name = component.backendUri(uri);
    }
    if (!(ttlMs > 0)) return "disabled";
    // Multi-round-trip continuations (2026-07-28) carry per-exchange state: never answered from a cache.
    if (params.inputResponses !== undefined || params.requestState !== undefined) return "mrtr";
    const identity = identityOf(ctx.authInfo);
    if (identity === undefined && this.#options.requireIdentity) return "no-identity";
    const perCaller = this.perCaller(component.backend);
    // A backend answering with each caller's own credentials is never shared across callers.
    const configured = server?.partition ?? this.#options.partition ?? "tenant";
    const mode = perCaller && configured === "public" ? "tenant" : configured;
    const scoped = perCaller || (server?.scopes ?? this.#options.scopes ?? false);
    const partition = this.#partition(mode, ctx, scoped);
    if (partition === undefined) return "ephemeral";
    const text = canonical(args, this.#limits);
    if (text === undefined) return "key-too-large";
    return { target: { method, backend, origin: originOf(component.backend), name }, partition, partitionMode: mode, args: text, ttlMs };
  }

  /** Undefined for a tenant of this one request: nobody could ever read its entry back. */
  #partition(mode: Partition, ctx: ProxyContext, scoped: boolean): string | undefined {
    if (mode === "public") return "public";
    if (ctx.tenant.ephemeral) return undefined;
    let partition = partitionOf(ctx.tenant);
    if (mode === "session" && ctx.sessionId !== undefined) partition += `|session:${ctx.sessionId}`;
    // A down-scoped token of one subject must not get what a wider one was given.
    if (scoped && ctx.tenant.principal !== undefined) partition += `|scopes:${[...new Set(ctx.authInfo?.scopes ?? [])].sort().join(" ")}`;
    return partition;
  }
}
