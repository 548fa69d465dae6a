import type {
  CallToolRequest,
  CallToolResult,
  CompleteRequest,
  CompleteResult,
  EmptyResult,
  GetPromptRequest,
  GetPromptResult,
  ListPromptsRequest,
  ListPromptsResult,
  ListResourceTemplatesRequest,
  ListResourceTemplatesResult,
  ListResourcesRequest,
  ListResourcesResult,
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
  "tools/call": { params: CallToolRequest["params"]; result: CallToolResult };
  "resources/list": { params: ListResourcesRequest["params"]; result: ListResourcesResult };
  "resources/templates/list": { params: ListResourceTemplatesRequest["params"]; result: ListResourceTemplatesResult };
  "resources/read": { params: ReadResourceRequest["params"]; result: ReadResourceResult };
  "resources/subscribe": { params: SubscribeRequest["params"]; result: EmptyResult };
  "resources/unsubscribe": { params: UnsubscribeRequest["params"]; result: EmptyResult };
  "prompts/list": { params: ListPromptsRequest["params"]; result: ListPromptsResult };
  "prompts/get": { params: GetPromptRequest["params"]; result: GetPromptResult };
  "completion/complete": { params: CompleteRequest["params"]; result: CompleteResult };
  "logging/setLevel": { params: SetLevelRequest["params"]; result: EmptyResult };
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
] as const satisfies readonly ProxyMethod[];

export function isProxyMethod(method: string): method is ProxyMethod {
  return (PROXY_METHODS as readonly string[]).includes(method);
}
