// The one table of the methods the proxy serves. Each entry says, once, what a method's params and
// result are (the types middleware is checked against), when the proxy serves it (from the
// capabilities it mirrors), which mirrored component it targets, and how it is answered. Adding a
// method is adding an entry; `serve/dispatch.ts` reads `answer` and nothing else decides.
import {
  ErrorCode,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type CancelTaskRequest,
  type CancelTaskResult,
  type ClientCapabilities,
  type CompleteRequest,
  type CompleteResult,
  type CreateTaskResult,
  type EmptyResult,
  type GetPromptRequest,
  type GetPromptResult,
  type GetTaskPayloadRequest,
  type GetTaskPayloadResult,
  type GetTaskRequest,
  type GetTaskResult,
  type ListPromptsRequest,
  type ListPromptsResult,
  type ListResourceTemplatesRequest,
  type ListResourceTemplatesResult,
  type ListResourcesRequest,
  type ListResourcesResult,
  type ListTasksRequest,
  type ListTasksResult,
  type ListToolsRequest,
  type ListToolsResult,
  type ReadResourceRequest,
  type ReadResourceResult,
  type ServerCapabilities,
  type SetLevelRequest,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from "@modelcontextprotocol/sdk/types.js";
import type { ComponentKind, ComponentRegistry, ListKey } from "./components/registry.js";
import type { ParamShape } from "./wire/message.js";
import type { AnyComponent } from "./middleware/context.js";

/** How the proxy answers a method. */
export type Answer =
  /** From the mirror: the caller's view of the list, less what middleware hid, then paged. */
  | { readonly list: ListKey }
  /** By the targeted component's method of that name (see `answerBy`); an unknown or hidden target gets `unknown`. */
  | { readonly via: "forward" | "subscribe" | "unsubscribe" | "complete"; readonly unknown: (params: Params) => McpError }
  /** Sent to every backend that has the capability (logging/setLevel). */
  | { readonly everyBackend: "logging" }
  /** To the backend that created the task (tasks/get, result, cancel), or every task backend (tasks/list). */
  | { readonly task: "get" | "result" | "cancel" | "list" };

type Params = Record<string, unknown>;

export interface MethodSpec {
  /** Whether the proxy serves the method, given the capabilities it mirrors. */
  readonly supported: (capabilities: ServerCapabilities) => boolean;
  /**
   * The 2026-07-28 revision: "both" eras serve it; "legacy" only (stateful sessions: subscribe,
   * setLevel, tasks); "multiRound": both, and its result may be `input_required` there.
   */
  readonly era: "both" | "legacy" | "multiRound";
  /** The params field that names the target (`Mcp-Name` on the 2026 wire). */
  readonly nameKey?: "name" | "uri";
  /** What the fronts check a request's params against before anything else (`checkParams`). */
  readonly params: ParamShape;
  /** "task": only the hard maximum bounds it (tasks/result waits for its task by design); else the per-request timeout, reset by progress. */
  readonly timeout?: "task";
  /** What a forwarded request leaves on its backend session: a subscription, a log level, or the task it created. */
  readonly leaves?: "subscription" | "unsubscription" | "logLevel" | "task";
  /** The component a request targets, found before middleware runs so that middleware sees it. */
  readonly target?: (view: ComponentRegistry, params: Params) => AnyComponent | undefined;
  readonly answer: Answer;
}

/** An entry of the table; `P` and `R` type the method's params and result (they exist only for the compiler). */
type Entry<P, R> = MethodSpec & { readonly types?: { params: P; result: R } };
const method = <P, R>(spec: MethodSpec): Entry<P, R> => spec;

const unknownTool = (p: Params) => new McpError(ErrorCode.InvalidParams, `Unknown tool: "${String(p.name)}"`);
const unknownPrompt = (p: Params) => new McpError(ErrorCode.InvalidParams, `Unknown prompt: "${String(p.name)}"`);
const resourceNotFound = (p: Params) => new McpError(-32002, `Resource not found: ${String(p.uri)}`, { uri: p.uri });
const unknownReference = (p: Params) => new McpError(ErrorCode.InvalidParams, `Unknown completion reference: ${JSON.stringify(p.ref)}`);
const resource = (view: ComponentRegistry, p: Params) => view.resource(String(p.uri));
const LIST: ParamShape = { cursor: "string?" };
const TASK: ParamShape = { taskId: "string" };

export const METHODS = {
  "tools/list": method<ListToolsRequest["params"], ListToolsResult>({ supported: (c) => !!c.tools, era: "both", params: LIST, answer: { list: "tools" } }),
  /** With `params.task` (a task-augmented call), the result is a CreateTaskResult; see the tasks/* methods. */
  "tools/call": method<CallToolRequest["params"], CallToolResult | CreateTaskResult>({
    supported: (c) => !!c.tools,
    era: "multiRound",
    nameKey: "name",
    params: { name: "string", arguments: "object?", task: "object?" },
    leaves: "task",
    target: (view, p) => view.tool(String(p.name)),
    answer: { via: "forward", unknown: unknownTool },
  }),
  "resources/list": method<ListResourcesRequest["params"], ListResourcesResult>({ supported: (c) => !!c.resources, era: "both", params: LIST, answer: { list: "resources" } }),
  "resources/templates/list": method<ListResourceTemplatesRequest["params"], ListResourceTemplatesResult>({
    supported: (c) => !!c.resources,
    era: "both",
    params: LIST,
    answer: { list: "resourceTemplates" },
  }),
  "resources/read": method<ReadResourceRequest["params"], ReadResourceResult>({
    supported: (c) => !!c.resources,
    era: "multiRound",
    nameKey: "uri",
    params: { uri: "string" },
    target: resource,
    answer: { via: "forward", unknown: resourceNotFound },
  }),
  "resources/subscribe": method<SubscribeRequest["params"], EmptyResult>({
    supported: (c) => !!c.resources?.subscribe,
    era: "legacy",
    params: { uri: "string" },
    leaves: "subscription",
    target: resource,
    answer: { via: "subscribe", unknown: resourceNotFound },
  }),
  "resources/unsubscribe": method<UnsubscribeRequest["params"], EmptyResult>({
    supported: (c) => !!c.resources?.subscribe,
    era: "legacy",
    params: { uri: "string" },
    leaves: "unsubscription",
    target: resource,
    answer: { via: "unsubscribe", unknown: resourceNotFound },
  }),
  "prompts/list": method<ListPromptsRequest["params"], ListPromptsResult>({ supported: (c) => !!c.prompts, era: "both", params: LIST, answer: { list: "prompts" } }),
  "prompts/get": method<GetPromptRequest["params"], GetPromptResult>({
    supported: (c) => !!c.prompts,
    era: "multiRound",
    nameKey: "name",
    params: { name: "string", arguments: "strings?" },
    target: (view, p) => view.prompt(String(p.name)),
    answer: { via: "forward", unknown: unknownPrompt },
  }),
  "completion/complete": method<CompleteRequest["params"], CompleteResult>({
    supported: (c) => !!c.completions,
    era: "both",
    params: { ref: "object", argument: "object" },
    target: (view, p) => {
      const ref = p.ref as { type?: string; name?: string; uri?: string } | undefined;
      if (ref?.type === "ref/prompt") return view.prompt(String(ref.name));
      if (ref?.type === "ref/resource") return view.template(String(ref.uri)) ?? view.resource(String(ref.uri));
      return undefined;
    },
    answer: { via: "complete", unknown: unknownReference },
  }),
  "logging/setLevel": method<SetLevelRequest["params"], EmptyResult>({ supported: (c) => !!c.logging, era: "legacy", params: { level: "level" }, leaves: "logLevel", answer: { everyBackend: "logging" } }),
  // Tasks (protocol 2025-11-25; experimental in the SDK). A task-augmented `tools/call` answers
  // with a CreateTaskResult; these address the task it created.
  "tasks/get": method<GetTaskRequest["params"], GetTaskResult>({ supported: (c) => !!c.tasks, era: "legacy", params: TASK, answer: { task: "get" } }),
  /** The task's final result: for a tools/call task, a CallToolResult (or the call's JSON-RPC error). */
  "tasks/result": method<GetTaskPayloadRequest["params"], GetTaskPayloadResult>({ supported: (c) => !!c.tasks, era: "legacy", params: TASK, timeout: "task", answer: { task: "result" } }),
  "tasks/list": method<ListTasksRequest["params"], ListTasksResult>({ supported: (c) => !!c.tasks?.list, era: "legacy", params: LIST, answer: { task: "list" } }),
  "tasks/cancel": method<CancelTaskRequest["params"], CancelTaskResult>({ supported: (c) => !!c.tasks?.cancel, era: "legacy", params: TASK, answer: { task: "cancel" } }),
} as const;

/** Every method the proxy serves, with its params and result, as the table above says. */
export type ProxyMethodMap = { [M in keyof typeof METHODS]: NonNullable<(typeof METHODS)[M]["types"]> };
export type ProxyMethod = keyof typeof METHODS;
export type ParamsOf<M extends ProxyMethod> = ProxyMethodMap[M]["params"];
export type ResultOf<M extends ProxyMethod> = ProxyMethodMap[M]["result"];

/** The table by method name, for lookups by a name read off the wire (one hash lookup, no property walk). */
const SPECS: ReadonlyMap<string, MethodSpec> = new Map(Object.entries(METHODS));

export function isProxyMethod(method: string): method is ProxyMethod {
  return SPECS.has(method);
}

/** The table's entry for a method name read off the wire; undefined when the proxy does not answer it. */
export function methodSpec(method: string): MethodSpec | undefined {
  return SPECS.get(method);
}

/** What `initialize` must carry (answered by the SDK Server, checked first like the table's methods). */
const INITIALIZE_PARAMS: ParamShape = { protocolVersion: "string", capabilities: "object", clientInfo: "object" };

/** The params shape a front checks a client's request against: the table's, or initialize's. */
export function paramsShapeOf(method: string): ParamShape | undefined {
  return method === "initialize" ? INITIALIZE_PARAMS : SPECS.get(method)?.params;
}

/**
 * The server→client requests a backend may send, and whether a client declared what each needs.
 * A request a client did not declare never reaches it.
 */
export const CLIENT_REQUESTS: Record<string, (capabilities: ClientCapabilities, params: Params | undefined) => boolean> = {
  "sampling/createMessage": (c) => c.sampling !== undefined,
  "elicitation/create": (c, p) => {
    const elicitation = c.elicitation as { form?: object; url?: object } | undefined;
    if (elicitation === undefined) return false;
    if (p?.mode === "url") return elicitation.url !== undefined;
    // An empty `elicitation: {}` is the form mode of clients from before modes existed.
    return elicitation.form !== undefined || elicitation.url === undefined;
  },
  "roots/list": (c) => c.roots !== undefined,
};

/** Each list_changed notification a backend may send, and the kind of component it is about. */
export const LIST_CHANGED: Readonly<Record<string, ComponentKind>> = {
  "notifications/tools/list_changed": "tools",
  "notifications/resources/list_changed": "resources",
  "notifications/prompts/list_changed": "prompts",
};
