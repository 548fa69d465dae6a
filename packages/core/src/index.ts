// The main entry: what a user of the proxy learns first (the proxy, what it takes and returns, its
// context and middleware, the components, errors, the method table, events, credentials, config
// files, the glob semantics of rules, the event store contract, the logger and its redaction). It is
// also everything the packages (auth, caching, logging, the CLI) use of core. Transports, codecs, the registry and
// other building blocks are in "@fastmcp-proxy/core/advanced".
import "reflect-metadata";

export { FastMCPProxy } from "./proxy.js";
export type { MountOptions, ProxyOptions, RunOptions, RunningProxy } from "./options.js";
export type { ProxyContext, AnyProxyContext, AnsweredContext, ProxyState } from "./middleware/context.js";
export { partitionOf, type Tenant } from "./tenant.js";
export { compose, type Middleware, type ProxyMiddleware, type Next } from "./middleware/compose.js";
export { ProxyComponent, type ComponentInit } from "./components/component.js";
export { ProxyTool } from "./components/proxy-tool.js";
export { ProxyResource } from "./components/proxy-resource.js";
export { ProxyTemplate } from "./components/proxy-template.js";
export { ProxyPrompt } from "./components/proxy-prompt.js";
export { HttpError, ProxyError, ProxyErrorCode, identityOf, plainMessage } from "./errors.js";
export { METHODS, type ProxyMethod, type ResultOf } from "./methods.js";
export type { ProxyEvents, ProxyEventName } from "./events.js";
export type { Backend, BackendCredentials } from "./backends/backend.js";
export type { CredentialsProvider, SessionOwner } from "./backends/pool.js";
export { loadConfigFile, type MCPConfig } from "./backends/config.js";
export type { BackendSpec } from "./backends/resolve.js";
export { globMatcher } from "./components/glob.js";
export { knownJsonLength } from "./wire/raw.js";
export type { EventStore } from "./serve/event-store.js";
export type { Authenticate, HttpRoute } from "./serve/http.js";
// The logger, and the redaction every package's log lines go through (one table of sensitive keys).
export { REDACTED, isSensitiveKey, safeStderr, scrubCredentials, stderrLogger, type Logger, type LogLevel } from "./logger.js";
