import type { ServerResponse } from "node:http";
import type { FastMCPProxy } from "@fastmcp-proxy/core";
import { pathname, type RouteHandler } from "./metrics.js";
import { Redaction } from "./redact.js";

/** What readiness needs of a proxy: its public health check. Any FastMCPProxy fits. */
export type ReadinessTarget = Pick<FastMCPProxy, "health">;

export interface ReadinessOptions {
  /** "all" (default): ready when every backend answers. "any": when at least one does. */
  require?: "all" | "any";
  /** Longest wait for one backend's answer. Default 2000 ms. */
  timeoutMs?: number;
  /** A report is reused for this long, so probes cannot hammer the backends. Default 1000 ms. */
  cacheMs?: number;
  /** Ping each backend over its shared session (default), or only check the session is open. */
  ping?: boolean;
  /** Include why a backend is down (credentials scrubbed). Default false: /readyz is often public. */
  errors?: boolean;
}

export interface BackendHealth {
  name: string;
  status: "up" | "down" | "unknown";
  latencyMs?: number;
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  started: boolean;
  backends: BackendHealth[];
}

export type ReadinessCheck = () => Promise<ReadinessReport>;

/**
 * A readiness check for a proxy: started, and its backends reachable (each answers a ping over
 * its shared session, reopened if it had closed). Concurrent calls share one probe.
 */
export function readiness(proxy: ReadinessTarget, options: ReadinessOptions = {}): ReadinessCheck {
  const timeoutMs = options.timeoutMs ?? 2000;
  const cacheMs = options.cacheMs ?? 1000;
  const rules = new Redaction();
  let last: { at: number; settled: boolean; report: Promise<ReadinessReport> } | undefined;

  async function report(): Promise<ReadinessReport> {
    const health = await proxy.health({ timeoutMs, ping: options.ping !== false });
    if (!health.started) return { ready: false, started: false, backends: health.backends.map((b) => ({ name: b.name, status: "unknown" })) };
    const backends = health.backends.map(({ name, status, error, latencyMs }): BackendHealth => {
      const entry: BackendHealth = { name, status };
      if (latencyMs !== undefined) entry.latencyMs = latencyMs;
      if (options.errors && error !== undefined) entry.error = rules.scrubPatterns(error).slice(0, 500);
      return entry;
    });
    const up = backends.filter((b) => b.status === "up").length;
    const ready = options.require === "any" ? up > 0 : up === backends.length && up > 0;
    return { ready, started: true, backends };
  }

  return function checkReadiness() {
    const now = performance.now();
    if (last && (!last.settled || now - last.at < cacheMs)) return last.report;
    const current = { at: now, settled: false, report: report() };
    void current.report.finally(() => {
      current.settled = true;
      current.at = performance.now();
    }).catch(() => {});
    last = current;
    return current.report;
  };
}

export interface HealthOptions extends ReadinessOptions {
  /** Liveness path. Default "/healthz". */
  healthPath?: string;
  /** Readiness path. Default "/readyz". */
  readyPath?: string;
}

/**
 * GET /healthz: 200 `{"status":"ok","uptimeSeconds":…}` while the process serves.
 * GET /readyz: 200 `{"status":"ready",…}` when the backends answer, else 503 `{"status":"not_ready",…}`.
 */
export function healthHandler(proxy: ReadinessTarget, options: HealthOptions = {}): RouteHandler {
  const healthPath = options.healthPath ?? "/healthz";
  const readyPath = options.readyPath ?? "/readyz";
  const check = readiness(proxy, options);
  return function healthHandler(req, res) {
    const path = pathname(req);
    if (path !== healthPath && path !== readyPath) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" }).end(JSON.stringify({ error: "Method not allowed" }));
      return true;
    }
    const head = req.method === "HEAD";
    if (path === healthPath) {
      json(res, 200, { status: "ok", uptimeSeconds: Math.round(process.uptime() * 10) / 10 }, head);
      return true;
    }
    check().then(
      (r) => json(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not_ready", started: r.started, backends: r.backends }, head),
      () => json(res, 503, { status: "not_ready" }, head),
    );
    return true;
  };
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(head ? undefined : JSON.stringify(body));
}
