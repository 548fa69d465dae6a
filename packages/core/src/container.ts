import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from "tsyringe";
import { resolveBackends, type BackendSpec } from "./backends/resolve.js";
import { BackendPool } from "./backends/pool.js";
import { ProxyPrompt } from "./components/proxy-prompt.js";
import { ProxyResource } from "./components/proxy-resource.js";
import { ProxyTemplate } from "./components/proxy-template.js";
import { ProxyTool } from "./components/proxy-tool.js";
import { ComponentRegistry } from "./components/registry.js";
import { stderrLogger } from "./logger.js";
import { resolveOptions, type ProxyOptions } from "./options.js";
import { Tokens } from "./tokens.js";
import type { ProxyDeps } from "./proxy.js";

/**
 * The composition root, and the only place the container is used: one child container per
 * proxy, defaults registered, then the user's overrides, then the proxy's dependencies resolved.
 */
export function createProxyDeps(backend: BackendSpec, options: ProxyOptions = {}): ProxyDeps {
  const container = rootContainer.createChildContainer();
  const resolved = resolveOptions(options);
  const components = options.components ?? {};
  const tool = components.tool ?? ProxyTool;
  const resource = components.resource ?? ProxyResource;
  const template = components.template ?? ProxyTemplate;
  const prompt = components.prompt ?? ProxyPrompt;

  container.register(Tokens.Options, { useValue: resolved });
  container.register(Tokens.Logger, { useValue: options.logger ?? stderrLogger(options.logLevel ?? "warn") });
  container.register(Tokens.ToolFactory, { useValue: (init) => new tool(init) });
  container.register(Tokens.ResourceFactory, { useValue: (init) => new resource(init) });
  container.register(Tokens.TemplateFactory, { useValue: (init) => new template(init) });
  container.register(Tokens.PromptFactory, { useValue: (init) => new prompt(init) });
  container.register(Tokens.Backends, {
    useFactory: instanceCachingFactory((c) =>
      resolveBackends(backend, c.resolve(Tokens.Logger)).map((b) => (options.rules && !b.rules ? { ...b, rules: options.rules } : b)),
    ),
  });
  container.register(Tokens.Registry, {
    useFactory: instanceCachingFactory(
      (c) =>
        new ComponentRegistry(
          {
            tool: c.resolve(Tokens.ToolFactory),
            resource: c.resolve(Tokens.ResourceFactory),
            template: c.resolve(Tokens.TemplateFactory),
            prompt: c.resolve(Tokens.PromptFactory),
          },
          c.resolve(Tokens.Logger),
        ),
    ),
  });
  container.register(Tokens.Pool, {
    useFactory: instanceCachingFactory((c) => {
      const { name, version, connectTimeoutMs, spareSessions } = c.resolve(Tokens.Options);
      return new BackendPool({ clientInfo: { name, version }, connectTimeoutMs, spareSessions, logger: c.resolve(Tokens.Logger) });
    }),
  });
  options.configure?.(container);

  const logger = container.resolve(Tokens.Logger);
  const factories = {
    tool: container.resolve(Tokens.ToolFactory),
    resource: container.resolve(Tokens.ResourceFactory),
    template: container.resolve(Tokens.TemplateFactory),
    prompt: container.resolve(Tokens.PromptFactory),
  };
  return {
    container,
    options: container.resolve(Tokens.Options),
    logger,
    backends: container.resolve(Tokens.Backends),
    registry: container.resolve(Tokens.Registry),
    newRegistry: () => new ComponentRegistry(factories, logger),
    pool: container.resolve(Tokens.Pool),
  };
}

export type { DependencyContainer };
