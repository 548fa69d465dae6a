// "@fastmcp-proxy/core/advanced": the building blocks under the main entry, for packages and custom
// fronts: transports and event stores, the 2026-07-28 pieces, the registry and naming, backend
// resolution and config parsing, the DI tokens.
import "reflect-metadata";

export type { ProxyDeps } from "./proxy.js";
export type { ProxyHealth } from "./options.js";
export type { ProxyEventListener } from "./events.js";
export type { ComponentRules, ToolRule, ArgumentRule } from "./components/rules.js";
export { toMcpError } from "./errors.js";
export type { ParamsOf, ProxyMethodMap } from "./methods.js";
export { tenantOf } from "./tenant.js";
export type { ComponentClass } from "./components/component.js";
export { UriComponent } from "./components/uri-component.js";
export { ComponentRegistry, type ComponentFactory, type ComponentFactories, type ComponentKind, type ListKey } from "./components/registry.js";
export { prefixName, prefixUri, unprefixUri } from "./components/naming.js";
export type { BackendConnector } from "./backends/backend.js";
export type { ReloadResult } from "./backends/reload.js";
export { resolveBackends } from "./backends/resolve.js";
export { parseConfig, type ServerConfig } from "./backends/config.js";
export { FrontSession } from "./serve/front-session.js";
export type { HttpFrontOptions, HttpHandler } from "./serve/http.js";
export { StreamableHttpTransport, type StreamableHttpTransportOptions } from "./serve/streamable-http.js";
export { MemoryEventStore } from "./serve/event-store.js";
export { Tokens } from "./tokens.js";
export { ModernClientTransport, RequestStateCodec, isModernRequest, modernConnector, probeEra, type BackendProtocol, type ModernFrontOptions } from "./eras/index.js";
export { redactValues, silentLogger } from "./logger.js";
