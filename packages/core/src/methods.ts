import type {
  CallToolRequest,
  CallToolResult,
  CancelTaskRequest,
  CancelTaskResult,
  CompleteRequest,
  CompleteResult,
  CreateTaskResult,
  EmptyResult,
  GetPromptRequest,
  GetPromptResult,
  GetTaskPayloadRequest,
  GetTaskPayloadResult,
  GetTaskRequest,
  GetTaskResult,
  ListPromptsRequest,
  ListPromptsResult,
  ListResourceTemplatesRequest,
  ListResourceTemplatesResult,
  ListResourcesRequest,
  ListResourcesResult,
  ListTasksRequest,
  ListTasksResult,
  ListToolsRequest,
  ListToolsResult,
  ReadResourceRequest,
  ReadResourceResult,
  SetLevelRequest,
  SubscribeRequest,
  UnsubscribeRequest,
} from "@modelcontextprotocol/sdk/types.js";

/** The one table that types every forwarded request: method → params and result. */
export interface ProxyMethodMap {
  "tools/list": { params: ListToolsRequest["params"]; result: ListToolsResult };
  /** With `params.task` (a task-augmented call), the result is a CreateTaskResult; see the tasks/* methods. */
  "tools/call": { params: CallToolRequest["params"]; result: CallToolResult | CreateTaskResult };
  "resources/list": { params: ListResourcesRequest["params"]; result: ListResourcesResult };
  "resources/templates/list": { params: ListResourceTemplatesRequest["params"]; result: ListResourceTemplatesResult };
  "resources/read": { params: ReadResourceRequest["params"]; result: ReadResourceResult };
  "resources/subscribe": { params: SubscribeRequest["params"]; result: EmptyResult };
  "resources/unsubscribe": { params: UnsubscribeRequest["params"]; result: EmptyResult };
  "prompts/list": { params: ListPromptsRequest["params"]; result: ListPromptsResult };
  "prompts/get": { params: GetPromptRequest["params"]; result: GetPromptResult };
  "completion/complete": { params: CompleteRequest["params"]; result: CompleteResult };
  "logging/setLevel": { params: SetLevelRequest["params"]; result: EmptyResult };
  // Tasks (protocol 2025-11-25; experimental in the SDK). A task-augmented `tools/call`
  // (`params.task` set) answers with a CreateTaskResult; these address the task it created.
  "tasks/get": { params: GetTaskRequest["params"]; result: GetTaskResult };
  /** The task's final result: for a tools/call task, a CallToolResult (or the call's JSON-RPC error). */
  "tasks/result": { params: GetTaskPayloadRequest["params"]; result: GetTaskPayloadResult };
  "tasks/list": { params: ListTasksRequest["params"]; result: ListTasksResult };
  "tasks/cancel": { params: CancelTaskRequest["params"]; result: CancelTaskResult };
}

export type ProxyMethod = keyof ProxyMethodMap;
export type ParamsOf<M extends ProxyMethod> = ProxyMethodMap[M]["params"];
export type ResultOf<M extends ProxyMethod> = ProxyMethodMap[M]["result"];

export const PROXY_METHODS = [
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "tasks/get",
  "tasks/result",
  "tasks/list",
  "tasks/cancel",
] as const satisfies readonly ProxyMethod[];

export function isProxyMethod(method: string): method is ProxyMethod {
  return (PROXY_METHODS as readonly string[]).includes(method);
}
