// Hot reload (issue 12): which of the servers the proxy was made with a new config adds, removes
// or changes. A server is unchanged when its name, its prefix and every field of its entry (after
// `${VAR}` expansion) are the same; any difference replaces it. How a plan is applied, and what it
// does to sessions, is in FastMCPProxy.reload and docs/gateway.md ("Reload").
import type { ComponentRules } from "../components/rules.js";
import { ProxyError, ProxyErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Backend } from "./backend.js";
import { isMCPConfig, loadConfigFile, parseConfig, type MCPConfig } from "./config.js";
import { configBackends } from "./resolve.js";

/** What a reload changed, by server name. */
export interface ReloadResult {
  /** New in the config. */
  added: string[];
  /** Gone from it: their components left and their sessions were closed. */
  removed: string[];
  /** Their entry changed: replaced (the old sessions closed, the new server connected). */
  changed: string[];
  /** Added or changed servers that could not be reached: left out and retried with backoff, as at start. */
  unreachable: string[];
}

export interface ReloadPlan {
  /** Current backends that go (removed or changed). */
  leaving: Backend[];
  /** New backends that come (added or changed). */
  joining: Backend[];
}

/** The backends a new config (an object, or a config file's path) describes; throws InvalidConfig as start would. */
export function backendsOfConfig(config: MCPConfig | string, logger: Logger, rules: ComponentRules | undefined): Backend[] {
  const onWarning = (message: string) => logger.warn(message);
  if (typeof config !== "string" && !isMCPConfig(config)) {
    throw new ProxyError(ProxyErrorCode.InvalidConfig, 'reload() takes a config { "mcpServers": { ... } } or the path of a config file');
  }
  const parsed = typeof config === "string" ? loadConfigFile(config, { onWarning }) : parseConfig(config, { onWarning });
  // Proxy-wide rules apply to servers that have none of their own, as at start.
  return configBackends(parsed, logger).map((b) => (rules && !b.rules ? { ...b, rules } : b));
}

export function planReload(current: readonly Backend[], next: readonly Backend[]): ReloadPlan {
  const now = new Map(current.map((b) => [b.name, b]));
  const wanted = new Map(next.map((b) => [b.name, b]));
  return {
    leaving: current.filter((b) => !same(b, wanted.get(b.name))),
    joining: next.filter((b) => !same(now.get(b.name), b)),
  };
}

export function reloadResult({ leaving, joining }: ReloadPlan, unreachable: readonly Backend[]): ReloadResult {
  const gone = new Set(leaving.map((b) => b.name));
  const changed = joining.filter((b) => gone.has(b.name)).map((b) => b.name);
  return {
    added: joining.map((b) => b.name).filter((name) => !changed.includes(name)),
    removed: [...gone].filter((name) => !changed.includes(name)),
    changed,
    unreachable: unreachable.map((b) => b.name),
  };
}

function same(a: Backend | undefined, b: Backend | undefined): boolean {
  return a !== undefined && b !== undefined && a.prefix === b.prefix && canonical(a.config) === canonical(b.config);
}

/** JSON with keys sorted at every level, so field order in the file is no change. */
function canonical(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted)
    : typeof v === "object" && v !== null ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
    : v;
  return JSON.stringify(sorted(value)) ?? "undefined";
}
