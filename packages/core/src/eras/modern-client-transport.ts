import { UnauthorizedError, auth, extractWWWAuthenticateParams, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { ToolHeaderBook } from "./param-headers.js";
import { sseMessages } from "../wire/sse.js";
import { FRONT_CAPABILITIES_META, INPUT_KEY_META, TASKS_EXTENSION, META, MODERN_VERSION, MODERN_VERSIONS, MULTI_ROUND_METHODS, UNSUPPORTED_PROTOCOL_VERSION, headerValue, isObject, nameOf, type JsonObject } from "./wire.js";
import { InFlightMap } from "../in-flight.js";

export interface ModernClientOptions {
  /** The backend's streamable HTTP endpoint. */
  url: string | URL;
  /** Sent on every request (credentials, for instance). */
  headers?: Record<string, string>;
  /** OAuth to the backend (the SDK's providers): its bearer on every request, its flow on a 401. */
  authProvider?: OAuthClientProvider | undefined;
  /** The fetch for the OAuth flow (discovery, registration, token requests). */
  fetch?: typeof fetch;
  /** Rounds of `input_required` answered for one request before it fails. Default 8. */
  maxRounds?: number;
  /** Delay before a dropped `subscriptions/listen` stream is opened again. Default 1,000 ms. */
  relistenMs?: number;
  /** The backend's tools' `x-mcp-header` annotations, shared by its sessions. Default: this transport's own. */
  tools?: ToolHeaderBook;
}

/** A JSON-RPC error answered by the backend. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/**
 * An SDK client transport that speaks 2026-07-28 to an HTTP backend, so the proxy's ordinary SDK
 * `Client` can use a stateless backend. `initialize` becomes `server/discover`; every request carries
 * the `_meta` envelope and the routing headers; `logging/setLevel` and `resources/(un)subscribe` are
 * kept here (log level in `_meta`, subscriptions on a `subscriptions/listen` stream); an
 * `input_required` answer is turned into ordinary server→client requests (elicitation, sampling,
 * roots) to the SDK client, and the backend is retried with their answers and its `requestState`.
 */
export class ModernClientTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #authProvider: OAuthClientProvider | undefined;
  readonly #authFetch: typeof fetch | undefined;
  readonly #maxRounds: number;
  readonly #relistenMs: number;
  readonly #tools: ToolHeaderBook;
  #version = MODERN_VERSION;
  #clientInfo: unknown = { name: "fastmcp-proxy", version: "0" };
  #capabilities: JsonObject = {};
  #serverCapabilities: JsonObject = {};
  #logLevel: string | undefined;
  readonly #subscriptions = new Set<string>();
  readonly #inFlight = new InFlightMap<RequestId, AbortController>();
  readonly #asks = new InFlightMap<RequestId, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  #askSeq = 0;
  #wireSeq = 0;
  #listen: AbortController | undefined;
  #closed = false;

  constructor(options: ModernClientOptions) {
    this.#url = new URL(options.url);
    this.#headers = options.headers ?? {};
    this.#authProvider = options.authProvider;
    this.#authFetch = options.fetch;
    this.#maxRounds = options.maxRounds ?? 8;
    this.#relistenMs = options.relistenMs ?? 1000;
    this.#tools = options.tools ?? new ToolHeaderBook();
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if ("method" in message && "id" in message) {
      // connect() must see a refused credential as itself (the pool names the fix): initialize is awaited.
      const served = this.#serve(message.id, message.method, message.params as JsonObject | undefined);
      if (message.method === "initialize") await served;
    } else if ("method" in message) {
      if (message.method === "notifications/cancelled") this.#inFlight.get((message.params as { requestId: RequestId }).requestId)?.abort();
    } else if ("id" in message && message.id !== undefined && message.id !== null) {
      const ask = this.#asks.get(message.id);
      this.#asks.delete(message.id);
      if ("error" in message) ask?.reject(new RpcError(message.error.code, message.error.message, message.error.data));
      else ask?.resolve(message.result);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listen?.abort();
    for (const controller of this.#inFlight.values()) controller.abort();
    for (const ask of this.#asks.values()) ask.reject(new Error("transport closed"));
    this.#asks.clear();
    this.onclose?.();
  }

  /** Answers one request of the SDK client, locally or through the backend. */
  async #serve(id: RequestId, method: string, params: JsonObject | undefined): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    try {
      const result = await this.#answer(method, params ?? {}, controller.signal);
      this.#deliver({ jsonrpc: "2.0", id, result: (result ?? {}) as JsonObject });
    } catch (error) {
      if (method === "initialize" && refusal(error)) throw error;
      const { code, message, data } = error instanceof RpcError ? error : new RpcError(-32603, (error as Error).message);
      if (!controller.signal.aborted) this.#deliver({ jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } });
    } finally {
      this.#inFlight.delete(id);
    }
  }

  async #answer(method: string, params: JsonObject, signal: AbortSignal): Promise<unknown> {
    switch (method) {
      case "initialize": {
        if (isObject(params.capabilities)) this.#capabilities = params.capabilities;
        if (params.clientInfo !== undefined) this.#clientInfo = params.clientInfo;
        const found = (await this.#call("server/discover", {}, signal)) as JsonObject;
        this.#serverCapabilities = withoutTasks(isObject(found.capabilities) ? found.capabilities : {});
        const meta = isObject(found._meta) ? found._meta : {};
        this.#relisten();
        return {
          protocolVersion: typeof params.protocolVersion === "string" ? params.protocolVersion : "2025-11-25",
          capabilities: this.#serverCapabilities,
          serverInfo: meta[META.serverInfo] ?? found.serverInfo ?? { name: this.#url.host, version: "unknown" },
          ...(typeof found.instructions === "string" ? { instructions: found.instructions } : {}),
        };
      }
      case "ping":
        await this.#call("server/discover", {}, signal);
        return {};
      case "logging/setLevel":
        this.#logLevel = typeof params.level === "string" ? params.level : undefined;
        return {};
      case "resources/subscribe":
      case "resources/unsubscribe":
        if (typeof params.uri === "string") this.#subscriptions[method === "resources/subscribe" ? "add" : "delete"](params.uri);
        this.#relisten();
        return {};
      case "tools/list": {
        // A tool whose header annotations are invalid must not be used: it is not listed.
        const listed = await this.#rounds(method, params, signal);
        return isObject(listed) ? this.#tools.learn(listed) : listed;
      }
      default:
        return this.#rounds(method, params, signal);
    }
  }

  /**
   * A request and its `input_required` rounds, each answered by asking the SDK client. For a 2026
   * front client (its capabilities ride along) there are no rounds here: its input_required, its
   * inputResponses and the backend's requestState pass through the proxy untouched.
   */
  async #rounds(method: string, params: JsonObject, signal: AbortSignal): Promise<unknown> {
    if (isObject(params._meta) && FRONT_CAPABILITIES_META in params._meta) return this.#call(method, params, signal);
    let retry: JsonObject = {};
    for (let round = 0; round <= this.#maxRounds; round++) {
      const result = await this.#call(method, { ...params, ...retry }, signal);
      if (!isObject(result) || result.resultType !== "input_required") return result;
      if (!MULTI_ROUND_METHODS.has(method)) throw new RpcError(-32603, `Backend answered ${method} with input_required, which only tools/call, prompts/get and resources/read may carry`);
      const requests = isObject(result.inputRequests) ? Object.entries(result.inputRequests) : [];
      const answers = await Promise.all(requests.map(async ([key, request]) => [key, await this.#ask(key, request, signal)] as const));
      retry = { inputResponses: Object.fromEntries(answers), ...(typeof result.requestState === "string" ? { requestState: result.requestState } : {}) };
    }
    throw new RpcError(-32603, `Backend still asked for input after ${this.#maxRounds} rounds of ${method}`);
  }

  /** Sends one embedded input request to the SDK client as an ordinary server→client request. */
  #ask(key: string, request: unknown, signal: AbortSignal): Promise<unknown> {
    if (!isObject(request) || typeof request.method !== "string") return Promise.reject(new RpcError(-32603, "Backend sent a malformed input request"));
    const id = `era-input-${++this.#askSeq}`;
    return new Promise((resolve, reject) => {
      this.#asks.set(id, { resolve, reject });
      signal.addEventListener("abort", () => this.#asks.delete(id) && reject(new Error("cancelled")), { once: true });
      const params = isObject(request.params) ? request.params : {};
      const meta = { ...(isObject(params._meta) ? params._meta : {}), [INPUT_KEY_META]: key };
      this.#deliver({ jsonrpc: "2.0", id, method: request.method as string, params: { ...params, _meta: meta } });
    });
  }

  /** One POST to the backend; its result, or its error as RpcError. Notifications on the way are delivered. */
  async #call(method: string, params: JsonObject, signal: AbortSignal, retried = false): Promise<unknown> {
    const id = ++this.#wireSeq;
    const response = await this.#post(this.#headersFor(method, params), JSON.stringify({ jsonrpc: "2.0", id, method, params: this.#withEnvelope(params) }), signal);
    const answer = await this.#read(response, id);
    if (answer === undefined) throw new RpcError(-32603, `Backend answered ${method} with HTTP ${response.status} and no JSON-RPC response`);
    if (!isObject(answer.error)) return answer.result;
    const { code, message, data } = answer.error as { code: number; message: string; data?: unknown };
    // -32022 names the versions the backend supports: retry once with one this transport speaks.
    if (code === UNSUPPORTED_PROTOCOL_VERSION && !retried && isObject(data) && Array.isArray(data.supported)) {
      const supported = MODERN_VERSIONS.find((v) => (data.supported as unknown[]).includes(v));
      if (supported) {
        this.#version = supported;
        return this.#call(method, params, signal, true);
      }
    }
    throw new RpcError(code, message, data);
  }

  /**
   * One POST with the credentials: the provider's bearer, and on a 401 (or a 403 asking for more
   * scope) its OAuth flow and one retry, as the SDK's own HTTP transport does. A refusal that stays
   * is thrown as the SDK's errors (UnauthorizedError, or StreamableHTTPError with the status).
   */
  async #post(headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const tokens = await this.#authProvider?.tokens();
      const bearer: Record<string, string> = tokens ? { authorization: `Bearer ${tokens.access_token}` } : {};
      const response = await fetch(this.#url, { method: "POST", headers: { ...headers, ...bearer }, body, signal });
      if (response.status !== 401 && response.status !== 403) return response;
      await response.body?.cancel().catch(() => {});
      const { resourceMetadataUrl, scope, error } = extractWWWAuthenticateParams(response);
      const retry = this.#authProvider && attempt === 0 && (response.status === 401 || error === "insufficient_scope");
      if (!retry) {
        if (this.#authProvider && response.status === 401) throw new UnauthorizedError(`Backend ${this.#url.href} refused the OAuth token (HTTP 401)`);
        throw new StreamableHTTPError(response.status, `Backend ${this.#url.href} refused the request (HTTP ${response.status})`);
      }
      const outcome = await auth(this.#authProvider!, { serverUrl: this.#url, ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}), ...(scope ? { scope } : {}), ...(this.#authFetch ? { fetchFn: this.#authFetch } : {}) });
      if (outcome !== "AUTHORIZED") throw new UnauthorizedError(`Backend ${this.#url.href} needs an authorization the proxy cannot complete unattended`);
    }
  }

  /** The response with `id` from a JSON or SSE body; other messages on an SSE body are delivered as they come. */
  async #read(response: Response, id: number): Promise<JsonObject | undefined> {
    const type = response.headers.get("content-type") ?? "";
    if (type.includes("text/event-stream") && response.body) {
      for await (const message of sseMessages(response.body)) {
        if (!isObject(message)) continue;
        if (message.id === id && !("method" in message)) return message;
        if (typeof message.method === "string" && !("id" in message)) this.#deliver(message as JSONRPCMessage);
      }
      return undefined;
    }
    const text = await response.text();
    try {
      const parsed: unknown = JSON.parse(text);
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  #headersFor(method: string, params: JsonObject): Record<string, string> {
    const name = nameOf(method, params);
    return {
      ...this.#headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": this.#version,
      "mcp-method": method,
      ...(name === undefined ? {} : { "mcp-name": headerValue(name) }),
      ...(method === "tools/call" ? this.#tools.headersFor(params.name, params.arguments) : {}),
    };
  }

  /** The envelope; a 2026 front client's own capabilities (passed along by the proxy) win over this session's. */
  #withEnvelope(params: JsonObject): JsonObject {
    const { [FRONT_CAPABILITIES_META]: declared, ...meta } = isObject(params._meta) ? params._meta : {};
    return {
      ...params,
      _meta: {
        ...meta,
        [META.clientInfo]: this.#clientInfo,
        [META.clientCapabilities]: withoutTasks(isObject(declared) ? declared : this.#capabilities),
        ...(this.#logLevel === undefined ? {} : { [META.logLevel]: this.#logLevel }),
        [META.protocolVersion]: this.#version,
      },
    };
  }

  /** (Re)opens the one `subscriptions/listen` stream for what the backend can announce and what is subscribed. */
  #relisten(): void {
    this.#listen?.abort();
    this.#listen = undefined;
    const caps = this.#serverCapabilities as { tools?: JsonObject; prompts?: JsonObject; resources?: JsonObject };
    const notifications = {
      ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
      ...(this.#subscriptions.size > 0 ? { resourceSubscriptions: [...this.#subscriptions] } : {}),
    };
    if (this.#closed || Object.keys(notifications).length === 0) return;
    const controller = new AbortController();
    this.#listen = controller;
    void this.#call("subscriptions/listen", { notifications }, controller.signal)
      .catch((error: Error) => !controller.signal.aborted && this.onerror?.(error))
      .finally(() => {
        if (this.#listen !== controller || this.#closed) return;
        setTimeout(() => this.#listen === controller && this.#relisten(), this.#relistenMs).unref();
      });
  }

  #deliver(message: JSONRPCMessage | JsonObject): void {
    if (this.#closed) return;
    const { method, params } = message as { method?: string; params?: JsonObject };
    if (method === "notifications/subscriptions/acknowledged") return;
    if (params && isObject(params._meta) && META.subscriptionId in params._meta) {
      const { [META.subscriptionId]: _, ...rest } = params._meta;
      message = { ...message, params: { ...params, _meta: rest } } as JSONRPCMessage;
    }
    this.onmessage?.(message as JSONRPCMessage);
  }
}

/**
 * Capabilities without the tasks extension: the proxy does not route 2026 tasks (tasks/get, update,
 * cancel by taskId), so a backend must run every call it forwards synchronously (the extension's
 * rule when a client does not declare it), and the proxy does not advertise what it cannot serve.
 */
function withoutTasks(capabilities: JsonObject): JsonObject {
  if (!isObject(capabilities.extensions) || !(TASKS_EXTENSION in capabilities.extensions)) return capabilities;
  const { [TASKS_EXTENSION]: _, ...extensions } = capabilities.extensions;
  return { ...capabilities, extensions };
}

/** A backend that refused the proxy's credentials. */
function refusal(error: unknown): boolean {
  return error instanceof UnauthorizedError || (error instanceof StreamableHTTPError && (error.code === 401 || error.code === 403));
}
