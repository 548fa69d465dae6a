// The proxy's backends and their lifecycle: connected and listed at start, the configured ones
// reloaded from a new config (reload.ts plans it, docs/gateway.md "Reload" says what it does), lost
// ones restarted (supervision.ts). FastMCPProxy owns one; the list is the one its session host serves.
import { availableParallelism } from "node:os";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { ComponentRegistry } from "../components/registry.js";
import { ProxyError, ProxyErrorCode, plainMessage, toMcpError } from "../errors.js";
import type { ProxyEventBus } from "../events.js";
import type { Logger } from "../logger.js";
import type { ResolvedOptions } from "../options.js";
import type { Backend } from "./backend.js";
import type { MCPConfig } from "./config.js";
import type { BackendPool } from "./pool.js";
import { backendsOfConfig, planReload, reloadResult, type ReloadResult } from "./reload.js";
import { Supervision, type SupervisedHost } from "./supervision.js";
import { settleEach } from "./settle-each.js";

/** Backends connected and listed at once at start-up and on reload (see settle-each.ts). */
const CONNECTING_AT_ONCE = Math.max(8, 4 * availableParallelism());

/** What the backends need of the session host, besides supervision's needs: what clients are told. */
export interface BackendHost extends SupervisedHost {
  capabilities: ServerCapabilities;
  instructions: string | undefined;
}

export interface BackendSetDeps {
  options: ResolvedOptions;
  logger: Logger;
  /** The mirror as a client that declares every relayed capability sees it. */
  registry: ComponentRegistry;
  newRegistry: () => ComponentRegistry;
  pool: BackendPool;
  events: ProxyEventBus;
  host: BackendHost;
  /** Every mounted backend, in mount order (shared with the session host). */
  list: Backend[];
}

interface Connecting {
  connected: Array<{ backend: Backend; client: Client }>;
  failures: Array<{ backend: Backend; error: unknown }>;
}

export class BackendSet {
  readonly supervision: Supervision;
  readonly #deps: BackendSetDeps;
  /** The servers of the config the proxy was made with (or last reloaded): what reload() replaces. */
  readonly #configured: Set<Backend>;
  /** What each backend said in its initialize. */
  readonly #instructions = new WeakMap<Backend, string | undefined>();
  /** The reload running now, if any: the next one waits for it. */
  #reloading: Promise<unknown> = Promise.resolve();
  #started: Promise<void> | undefined;
  #ready = false;
  #stopped = false;

  constructor(deps: BackendSetDeps) {
    this.#deps = deps;
    this.#configured = new Set(deps.list.filter((b) => b.config !== undefined));
    this.supervision = new Supervision({ ...deps, restart: deps.options.restart, mounted: (backend) => deps.list.includes(backend) });
  }

  /** start() has been called. */
  get starting(): boolean {
    return this.#started !== undefined;
  }

  /** start() has finished: every reachable backend connected and mirrored. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Connects every backend and mirrors its components. Idempotent. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  /** No reload and no restart any more (the proxy is closing). */
  stop(): void {
    this.#stopped = true;
    this.supervision.stop();
  }

  async #start(): Promise<void> {
    const { list, registry, pool } = this.#deps;
    const { connected, failures } = await this.#connectAll(list, registry);
    if (connected.length === 0) {
      await pool.closeAll();
      throw failures.length === 1 ? toMcpError(failures[0]!.error) : unreachable(failures);
    }
    for (const { backend, error } of failures) this.supervision.leftOut(backend, error);
    if (registry.collisions.length > 0) {
      this.supervision.stop();
      await pool.closeAll();
      throw new ProxyError(ProxyErrorCode.InvalidConfig, `Name collision: ${registry.collisions.join("; ")}`);
    }
    this.#mirror(connected);
    this.#ready = true;
  }

  /** Connects each backend's shared session and lists it into `registry`, all at once. */
  async #connectAll(backends: readonly Backend[], registry: ComponentRegistry): Promise<Connecting> {
    const results = await settleEach(backends, CONNECTING_AT_ONCE, async (backend) => {
      const client = await this.#deps.host.shared(backend);
      await registry.discover(backend, client);
      return { backend, client };
    });
    return {
      connected: results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
      failures: results.flatMap((r, i) => (r.status === "rejected" ? [{ backend: backends[i]!, error: r.reason as unknown }] : [])),
    };
  }

  /** What clients are told the proxy can do, once the connected backends changed. */
  #mirror(connected: Connecting["connected"]): void {
    const { host, options } = this.#deps;
    for (const { backend, client } of connected) {
      host.connected.set(backend, client.getServerCapabilities() ?? {});
      this.#instructions.set(backend, client.getInstructions());
    }
    const all = [...host.connected.keys()];
    host.capabilities = mirrorCapabilities([...host.connected.values()]);
    // A single backend's own instructions are the proxy's, unless the options give some.
    host.instructions = options.instructions ?? (all.length === 1 ? this.#instructions.get(all[0]!) : undefined);
  }

  /** See FastMCPProxy.reload. */
  reload(config: MCPConfig | string): Promise<ReloadResult> {
    const run = this.#reloading.then(() => this.#reload(config));
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(config: MCPConfig | string): Promise<ReloadResult> {
    const { logger, options, list } = this.#deps;
    try {
      if (this.#stopped) throw new ProxyError(ProxyErrorCode.ServiceUnavailable, "the proxy is closed");
      if (this.#configured.size === 0) throw new ProxyError(ProxyErrorCode.InvalidConfig, "this proxy was not made from a config (mcpServers): there is nothing to reload");
      const next = backendsOfConfig(config, logger, options.rules);
      const others = list.filter((b) => !this.#configured.has(b)).map((b) => b.name);
      const taken = next.find((b) => others.includes(b.name));
      if (taken) throw new ProxyError(ProxyErrorCode.InvalidConfig, `server "${taken.name}": the name is taken by a mounted backend`);
      const plan = planReload([...this.#configured], next);
      if (this.#started) await this.#started;
      const result = reloadResult(plan, this.#ready ? await this.#swap(plan.leaving, plan.joining) : this.#replace(plan.leaving, plan.joining));
      logger.info(`config reloaded: ${describeReload(result) || "no server changed"}`);
      return result;
    } catch (error) {
      logger.warn(`config not reloaded, the old one is kept: ${plainMessage(error)}`);
      throw error;
    }
  }

  /** Before start: the configured servers are only replaced (nothing is connected yet). */
  #replace(leaving: readonly Backend[], joining: readonly Backend[]): Backend[] {
    const { list } = this.#deps;
    for (const backend of leaving) {
      this.#configured.delete(backend);
      list.splice(list.indexOf(backend), 1);
    }
    for (const backend of joining) this.#configured.add(backend);
    list.push(...joining);
    return [];
  }

  /**
   * A started proxy: the joining servers are connected and listed beside the others first; if a name
   * collides, or none of the servers can be reached, they are closed again and nothing changed. Then
   * the swap, at once: the mirror, the backends, the views; clients are told; the leaving servers'
   * sessions are closed. Returns the joining servers that could not be reached.
   */
  async #swap(leaving: readonly Backend[], joining: readonly Backend[]): Promise<Backend[]> {
    if (leaving.length + joining.length === 0) return [];
    const { registry, host, pool, events } = this.#deps;
    const trial = this.#deps.newRegistry();
    const staying = this.#deps.list.filter((b) => !leaving.includes(b));
    trial.replace([], staying, registry);
    const { connected, failures } = await this.#connectAll(joining, trial);
    const collisions = trial.collisions.filter((c) => !registry.collisions.includes(c));
    const up = staying.filter((b) => host.connected.has(b) && this.supervision.downReason(b) === undefined);
    const refusal =
      this.#stopped ? new ProxyError(ProxyErrorCode.ServiceUnavailable, "the proxy closed during the reload")
      : collisions.length > 0 ? new ProxyError(ProxyErrorCode.InvalidConfig, `Name collision: ${collisions.join("; ")}`)
      : connected.length === 0 && up.length === 0 && failures.length > 0 ? unreachable(failures)
      : undefined;
    if (refusal) {
      await Promise.all(joining.map((b) => pool.retire(b)));
      throw refusal;
    }
    const closing = Promise.all(leaving.map((b) => pool.retire(b)));
    for (const backend of leaving) {
      this.supervision.forget(backend);
      host.connected.delete(backend);
    }
    registry.replace(leaving, connected.map((c) => c.backend), trial);
    this.#replace(leaving, joining);
    this.#mirror(connected);
    for (const { backend, error } of failures) this.supervision.leftOut(backend, error);
    host.resetViews();
    host.announceLists();
    for (const backend of [...leaving, ...connected.map((c) => c.backend)]) {
      for (const kind of ["tools", "resources", "prompts"] as const) events.emit("listChanged", { backend, kind });
    }
    await closing;
    return failures.map((f) => f.backend);
  }
}

function unreachable(failures: Connecting["failures"]): ProxyError {
  return new ProxyError(ProxyErrorCode.BackendUnavailable, `No backend could be reached: ${failures.map((f) => plainMessage(f.error)).join("; ")}`);
}

function describeReload({ added, removed, changed, unreachable }: ReloadResult): string {
  const part = (what: string, names: string[]) => (names.length > 0 ? [`${what} ${names.join(", ")}`] : []);
  return [...part("added", added), ...part("removed", removed), ...part("changed", changed), ...part("could not reach", unreachable)].join("; ");
}

/** The proxy advertises what its backends can do; list_changed always, since it re-lists on any change. */
function mirrorCapabilities(all: ServerCapabilities[]): ServerCapabilities {
  const caps: ServerCapabilities = {};
  if (all.some((c) => c.tools)) caps.tools = { listChanged: true };
  if (all.some((c) => c.resources)) caps.resources = { listChanged: true, ...(all.some((c) => c.resources?.subscribe) && { subscribe: true }) };
  if (all.some((c) => c.prompts)) caps.prompts = { listChanged: true };
  if (all.some((c) => c.logging)) caps.logging = {};
  if (all.some((c) => c.completions)) caps.completions = {};
  const tasks = all.flatMap((c) => (c.tasks ? [c.tasks] : []));
  if (tasks.length > 0) {
    caps.tasks = {
      ...(tasks.some((t) => t.list) && { list: {} }),
      ...(tasks.some((t) => t.cancel) && { cancel: {} }),
      ...(tasks.some((t) => t.requests?.tools?.call) && { requests: { tools: { call: {} } } }),
    };
  }
  return caps;
}
