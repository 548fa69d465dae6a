// The 2026-07-28 protocol era beside the legacy one: classifying requests, the 2026 front, the
// bridge between eras (input_required <-> server→client requests) and the 2026 backend transport.
export { isModernRequest, resumesHeldCall } from "./classify.js";
export { createModernFront, type ModernFront, type ModernFrontHost, type ModernFrontOptions } from "./modern-front.js";
export { ModernClientTransport, RpcError, type ModernClientOptions } from "./modern-client-transport.js";
export { RequestStateCodec, RequestStateError, type RequestStateOptions } from "./request-state.js";
export { MODERN_VERSION, MODERN_VERSIONS, LEGACY_VERSIONS } from "./wire.js";
export { modernConnector, type BackendProtocol } from "./connector.js";
export { probeEra } from "./probe.js";
export { serveStdioFront, type StdioFront } from "./stdio-front.js";
