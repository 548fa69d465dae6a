import type { InjectionToken } from "tsyringe";
import type { Backend } from "./backends/backend.js";
import type { BackendPool } from "./backends/pool.js";
import type { ComponentFactory, ComponentRegistry } from "./components/registry.js";
import type { ProxyPrompt } from "./components/proxy-prompt.js";
import type { ProxyResource } from "./components/proxy-resource.js";
import type { ProxyTemplate } from "./components/proxy-template.js";
import type { ProxyTool } from "./components/proxy-tool.js";
import type { Logger } from "./logger.js";
import type { ResolvedOptions } from "./options.js";

const token = <T>(name: string) => Symbol.for(`@fastmcp-proxy/core:${name}`) as InjectionToken<T>;

/** Everything a proxy's container holds. Register over any of them in `configure(container)`. */
export const Tokens = {
  Options: token<ResolvedOptions>("Options"),
  Logger: token<Logger>("Logger"),
  Backends: token<Backend[]>("Backends"),
  Pool: token<BackendPool>("Pool"),
  Registry: token<ComponentRegistry>("Registry"),
  ToolFactory: token<ComponentFactory<ProxyTool>>("ToolFactory"),
  ResourceFactory: token<ComponentFactory<ProxyResource>>("ResourceFactory"),
  TemplateFactory: token<ComponentFactory<ProxyTemplate>>("TemplateFactory"),
  PromptFactory: token<ComponentFactory<ProxyPrompt>>("PromptFactory"),
} as const;
