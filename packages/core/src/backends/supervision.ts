// Keeping backends alive: a lost shared session is restarted with backoff (BackendSupervisor), with
// every capability profile whose session was lost; the mirror and clients follow; health() reports.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { ClientCapabilities, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { ComponentRegistry } from "../components/registry.js";
import { ProxyError, ProxyErrorCode, plainMessage } from "../errors.js";
import type { ProxyEventBus } from "../events.js";
import type { Logger } from "../logger.js";
import { describe, type Backend } from "./backend.js";
import { profileKey } from "../tenant.js";
import { BackendSupervisor, type RestartOptions } from "./supervisor.js";

/** What supervision needs of the session host. */
export interface SupervisedHost {
  readonly connected: Map<Backend, ServerCapabilities>;
  shared(backend: Backend, capabilities?: ClientCapabilities): Promise<Client>;
  setDown(backend: Backend, down: boolean): Promise<void>;
  resetViews(): void;
  announceLists(): void;
}

export interface SupervisionDeps {
  restart: RestartOptions | false;
  logger: Logger;
  registry: ComponentRegistry;
  events: ProxyEventBus;
  host: SupervisedHost;
  /** Whether a backend is still mounted (a reload may have taken it out). */
  mounted: (backend: Backend) => boolean;
}

export interface BackendHealth {
  name: string;
  status: "up" | "down";
  latencyMs?: number;
  error?: string;
}

export class Supervision {
  readonly #deps: SupervisionDeps;
  readonly #supervisor: BackendSupervisor | undefined;
  /** Per lost backend, the capability profiles whose shared sessions must come back. */
  readonly #lostProfiles = new Map<Backend, Map<string, ClientCapabilities>>();
  #stopped = false;

  constructor(deps: SupervisionDeps) {
    this.#deps = deps;
    this.#supervisor = deps.restart === false ? undefined : new BackendSupervisor(deps.restart, deps.logger, (backend) => this.#recover(backend));
  }

  /** Why calls to a backend fail fast now (a crash loop opened its breaker), if they do. */
  unavailable(backend: Backend): string | undefined {
    return this.#supervisor?.breakerOpen(backend);
  }

  /** Why a backend is down, or undefined while it is up. */
  downReason(backend: Backend): string | undefined {
    return this.#supervisor?.downReason(backend);
  }

  /** A backend could not be reached (at start, or added by a reload): left out, and retried with backoff. */
  leftOut(backend: Backend, error: unknown): void {
    this.#deps.logger.warn(`backend ${describe(backend)} left out for now: ${plainMessage(error)}`);
    this.#supervisor?.lost(backend, plainMessage(error));
  }

  /** A backend's shared session closed: mark it down everywhere and start restarting it. */
  lost(backend: Backend, capabilities: ClientCapabilities): void {
    if (this.#stopped || !this.#supervisor || !this.#deps.mounted(backend)) return;
    let lost = this.#lostProfiles.get(backend);
    if (!lost) this.#lostProfiles.set(backend, (lost = new Map()));
    lost.set(profileKey(capabilities), capabilities);
    const { host, events, logger } = this.#deps;
    logger.warn(`backend ${describe(backend)} was lost; restarting it`);
    void host.setDown(backend, true);
    this.#supervisor.lost(backend, "its connection closed");
    events.emit("backendLost", { backend, reason: "its connection closed" });
    host.announceLists();
  }

  /** A reload took a backend out: nothing of it is restarted any more. */
  forget(backend: Backend): void {
    this.#supervisor?.forget(backend);
    this.#lostProfiles.delete(backend);
  }

  stop(): void {
    this.#stopped = true;
    this.#supervisor?.stop();
  }

  /** Fail-closed: while a backend is down, lists fail rather than leave it out. */
  refuseListsWhileDown(): void {
    const down = this.#supervisor?.anyDown ?? [];
    if (down.length > 0) {
      throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${down.map(describe).join(", ")} is down; lists are refused until it is back`);
    }
  }

  /** Whether each backend answers a ping (or, with `ping: false`, has its session open); a session found lost is restarted as any loss. */
  health(backends: readonly Backend[], options: { timeoutMs?: number; ping?: boolean }): Promise<BackendHealth[]> {
    const timeout = options.timeoutMs ?? 2000;
    const probe = async (backend: Backend): Promise<BackendHealth> => {
      const down = this.downReason(backend);
      if (down !== undefined) return { name: backend.name, status: "down", error: down };
      const began = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout)));
        const client = await Promise.race([this.#deps.host.shared(backend), late]);
        if (options.ping !== false) await client.ping({ timeout });
        return { name: backend.name, status: "up", latencyMs: Math.round((performance.now() - began) * 10) / 10 };
      } catch (error) {
        return { name: backend.name, status: "down", error: plainMessage(error) };
      } finally {
        clearTimeout(timer);
      }
    };
    return Promise.all(backends.map(probe));
  }

  /** Reconnects a lost backend (every profile's session that was lost) and mirrors it again; called by the supervisor, with backoff. */
  async #recover(backend: Backend): Promise<void> {
    const { host, registry, events } = this.#deps;
    const lost = this.#lostProfiles.get(backend);
    await Promise.all([...(lost?.values() ?? [])].map((capabilities) => host.shared(backend, capabilities)));
    this.#lostProfiles.delete(backend);
    const client = await host.shared(backend);
    await registry.discover(backend, client);
    if (!this.#deps.mounted(backend)) return; // a reload took it out meanwhile
    host.connected.set(backend, client.getServerCapabilities() ?? {});
    host.resetViews();
    await host.setDown(backend, false);
    events.emit("backendRestarted", { backend });
    host.announceLists();
  }
}
