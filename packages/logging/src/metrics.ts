import type { IncomingMessage, ServerResponse } from "node:http";
import type { Next, ProxyContext, ProxyMethod, ResultOf } from "@fastmcp-proxy/core";
import { Counter, Gauge, Histogram, collectDefaultMetrics, register as globalRegistry, type Registry } from "prom-client";
import { errorCode, isToolError, requestLabels, type RequestLabels } from "./outcome.js";

/** A route for a Node HTTP server: answers the request and returns true, or returns false to let the next route try. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface MetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global registry (what `metricsHandler()` serves). */
  registry?: Registry;
  /** Prefix of every metric name. Default "mcp_proxy_". */
  prefix?: string;
  /** Duration histogram buckets, in seconds. */
  buckets?: number[];
  /** Also collect prom-client's default process metrics (CPU, memory, event loop) in the registry. Default false. */
  defaultMetrics?: boolean;
  /** Count only these methods. Default: every method. */
  methods?: readonly ProxyMethod[];
  /** A response cache (e.g. @fastmcp-proxy/caching's middleware) whose hit ratio, entries, bytes and evictions to export. */
  cache?: { stats(): CacheFigures };
}

/** What the metrics read from a cache (the shape of @fastmcp-proxy/caching's `stats()`). */
export interface CacheFigures {
  hitRatio: number;
  store?: { entries: number; bytes: number; evictions: number } | undefined;
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The metrics middleware, with the registry its metrics live in. */
export type MetricsMiddleware = (<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>) & {
  readonly registry: Registry;
};

const withDefaults = new WeakSet<Registry>();

/** An existing metric of that name in the registry (a second `metrics()` on the same registry shares it), or a new one. */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * Prometheus metrics for every forwarded request:
 * - `mcp_proxy_requests_total{method,backend,component,outcome}`: outcome is ok, isError or error;
 * - `mcp_proxy_request_duration_seconds{method,backend,component}`: a histogram;
 * - `mcp_proxy_errors_total{method,backend,component,code}`: thrown errors by JSON-RPC code, and
 *   tools' own failures with code "isError";
 * - `mcp_proxy_requests_in_flight{method,backend}`.
 * Labels come from the proxy's registry (never from client input), so their number stays bounded.
 */
export function metrics(options: MetricsOptions = {}): MetricsMiddleware {
  const registry = options.registry ?? globalRegistry;
  const prefix = options.prefix ?? "mcp_proxy_";
  const registers = [registry];
  const requests = reuse(registry, `${prefix}requests_total`, () =>
    new Counter({ name: `${prefix}requests_total`, help: "Forwarded MCP requests, by outcome (ok, isError, error).", labelNames: ["method", "backend", "component", "outcome"] as const, registers }));
  const duration = reuse(registry, `${prefix}request_duration_seconds`, () =>
    new Histogram({
      name: `${prefix}request_duration_seconds`,
      help: "Duration of forwarded MCP requests, in seconds.",
      labelNames: ["method", "backend", "component"] as const,
      buckets: options.buckets ?? DEFAULT_BUCKETS,
      registers,
    }));
  const errors = reuse(registry, `${prefix}errors_total`, () =>
    new Counter({ name: `${prefix}errors_total`, help: "Failed MCP requests: JSON-RPC errors by code, and tool failures (code=\"isError\").", labelNames: ["method", "backend", "component", "code"] as const, registers }));
  const inFlight = reuse(registry, `${prefix}requests_in_flight`, () =>
    new Gauge({ name: `${prefix}requests_in_flight`, help: "MCP requests being forwarded now.", labelNames: ["method", "backend"] as const, registers }));
  const cacheOutcomes = reuse(registry, `${prefix}cache_requests_total`, () =>
    new Counter({ name: `${prefix}cache_requests_total`, help: "Requests by how the response cache met them (hit, miss, coalesced, bypass:<reason>).", labelNames: ["method", "backend", "outcome"] as const, registers }));
  if (options.cache) cacheGauges(registry, prefix, options.cache);
  if (options.defaultMetrics && !withDefaults.has(registry)) {
    withDefaults.add(registry);
    collectDefaultMetrics({ register: registry, prefix });
  }
  const only = options.methods ? new Set<string>(options.methods) : undefined;

  const middleware = function metrics<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    if (only !== undefined && !only.has(ctx.method)) return next();
    const { labels, flight, ok, isError, isErrorCode } = seriesOf(ctx as ProxyContext);
    inFlight.inc(flight);
    const started = performance.now();
    const done = () => {
      inFlight.dec(flight);
      duration.observe(labels, (performance.now() - started) / 1000);
      const cache = (ctx.state as { cache?: unknown }).cache;
      if (typeof cache === "string") cacheOutcomes.inc({ method: labels.method, backend: labels.backend, outcome: cache.slice(0, 64) });
    };
    let pending: Promise<ResultOf<M>>;
    try {
      pending = next();
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending.then(
      (result) => {
        done();
        const failed = isToolError(result);
        requests.inc(failed ? isError : ok);
        if (failed) errors.inc(isErrorCode);
        return result;
      },
      (error: unknown) => {
        done();
        requests.inc({ ...labels, outcome: "error" });
        errors.inc({ ...labels, code: String(errorCode(error)) });
        throw error;
      },
    );
  };
  return Object.assign(middleware, { registry });
}

/** The label sets of one method on one component (or on none), made once: no objects spread per call. */
interface Series {
  labels: RequestLabels;
  flight: { method: string; backend: string };
  ok: Record<string, string>;
  isError: Record<string, string>;
  isErrorCode: Record<string, string>;
}

const seriesByComponent = new WeakMap<object, Map<string, Series>>();
const seriesByMethod = new Map<string, Series>();

function seriesOf(ctx: ProxyContext): Series {
  const component = ctx.component;
  let table = seriesByMethod;
  if (component) {
    let own = seriesByComponent.get(component);
    if (!own) seriesByComponent.set(component, (own = new Map()));
    table = own;
  }
  let series = table.get(ctx.method);
  if (!series) {
    const labels = requestLabels(ctx);
    series = {
      labels,
      flight: { method: labels.method, backend: labels.backend },
      ok: { ...labels, outcome: "ok" },
      isError: { ...labels, outcome: "isError" },
      isErrorCode: { ...labels, code: "isError" },
    };
    table.set(ctx.method, series);
  }
  return series;
}

/** Gauges read from the cache at each scrape: hit ratio, entries, bytes, and evictions (a counter). */
function cacheGauges(registry: Registry, prefix: string, cache: { stats(): CacheFigures }): void {
  const registers = [registry];
  const figure = (name: string, help: string, read: (f: CacheFigures) => number | undefined) =>
    reuse(registry, `${prefix}${name}`, () =>
      new Gauge({
        name: `${prefix}${name}`,
        help,
        registers,
        collect() {
          const value = read(cache.stats());
          if (value !== undefined) this.set(value);
        },
      }));
  figure("cache_hit_ratio", "Share of cacheable requests answered without a backend call of their own.", (f) => f.hitRatio);
  figure("cache_entries", "Keys in the cache store (when it counts them).", (f) => f.store?.entries);
  figure("cache_bytes", "Approximate bytes in the cache store (when it counts them).", (f) => f.store?.bytes);
  reuse(registry, `${prefix}cache_evictions_total`, () =>
    new Counter({
      name: `${prefix}cache_evictions_total`,
      help: "Entries evicted from the cache store for lack of room (when it counts them).",
      registers,
      collect() {
        const evictions = cache.stats().store?.evictions;
        if (evictions === undefined) return;
        this.reset();
        this.inc(evictions);
      },
    }));
}

export interface MetricsHandlerOptions {
  /** The registry to serve (e.g. `metrics(...).registry`). Default: prom-client's global registry. */
  registry?: Registry;
  /** Default "/metrics". */
  path?: string;
}

/** Serves the registry in the Prometheus text format at GET /metrics. */
export function metricsHandler(options: MetricsHandlerOptions = {}): RouteHandler {
  const registry = options.registry ?? globalRegistry;
  const path = options.path ?? "/metrics";
  return function metricsHandler(req, res) {
    if (pathname(req) !== path) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("Method not allowed\n");
      return true;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      () => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("Metrics could not be collected\n");
      },
    );
    return true;
  };
}

/** Tries each route in turn: one handler for /metrics, /healthz, /readyz and whatever else. */
export function routes(...handlers: RouteHandler[]): RouteHandler {
  return function routes(req, res) {
    return handlers.some((handler) => handler(req, res));
  };
}

export function pathname(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}
