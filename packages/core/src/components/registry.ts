import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type {
  ListPromptsResult,
  ListResourceTemplatesResult,
  ListResourcesResult,
  ListToolsResult,
  Prompt,
  Resource,
  ResourceTemplate,
  Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Backend } from "../backends/backend.js";
import { listAll } from "../backends/passthrough.js";
import type { Logger } from "../logger.js";
import type { ComponentInit, ProxyComponent } from "./component.js";
import { prefixName, prefixUri } from "./naming.js";
import { shareable } from "./pages.js";
import { isVisible, type ToolRule } from "./rules.js";
import type { ProxyPrompt } from "./proxy-prompt.js";
import type { ProxyResource } from "./proxy-resource.js";
import type { ProxyTemplate } from "./proxy-template.js";
import type { ProxyTool } from "./proxy-tool.js";

export type ComponentFactory<C extends ProxyComponent> = (init: ComponentInit<C["definition"]>) => C;

export interface ComponentFactories {
  tool: ComponentFactory<ProxyTool>;
  resource: ComponentFactory<ProxyResource>;
  template: ComponentFactory<ProxyTemplate>;
  prompt: ComponentFactory<ProxyPrompt>;
}

export type ComponentKind = "tools" | "resources" | "prompts";

/** The four lists, by the key their result holds them under. */
export interface Lists {
  tools: ListToolsResult;
  resources: ListResourcesResult;
  resourceTemplates: ListResourceTemplatesResult;
  prompts: ListPromptsResult;
}
export type ListKey = keyof Lists;

interface Listed {
  tools: readonly ProxyTool[];
  resources: readonly ProxyResource[];
  resourceTemplates: readonly ProxyTemplate[];
  prompts: readonly ProxyPrompt[];
}

interface Mirrored {
  tools: ProxyTool[];
  resources: ProxyResource[];
  templates: ProxyTemplate[];
  prompts: ProxyPrompt[];
}

/**
 * The mirrored components of every backend, discovered by listing each backend, indexed by
 * the names clients use. Lists are answered from here; calls are routed from here.
 */
export class ComponentRegistry {
  readonly #factories: ComponentFactories;
  readonly #logger: Logger;
  readonly #mirrored = new Map<Backend, Mirrored>();
  readonly #queue = new Map<Backend, Promise<void>>();
  readonly #down = new Set<Backend>();
  /** Backends a reload took out: a listing of theirs still under way is dropped, never mirrored again. */
  readonly #removed = new WeakSet<Backend>();
  #tools = new Map<string, ProxyTool>();
  #resources = new Map<string, ProxyResource>();
  #templates: ProxyTemplate[] = [];
  #prompts = new Map<string, ProxyPrompt>();
  #listed: Listed = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
  #lists = freezeLists(this.#listed);
  /** Names claimed by two backends at the last rebuild (the first mounted keeps the name). */
  collisions: string[] = [];

  constructor(factories: ComponentFactories, logger: Logger) {
    this.#factories = factories;
    this.#logger = logger;
  }

  /**
   * Lists the given kinds from the backend (every page) and replaces its mirrored components.
   * Runs one at a time per backend, so a refresh that starts later never loses to an earlier one.
   */
  discover(backend: Backend, client: Client, kinds: readonly ComponentKind[] = ["tools", "resources", "prompts"]): Promise<void> {
    const run = (this.#queue.get(backend) ?? Promise.resolve()).catch(() => {}).then(() => this.#discover(backend, client, kinds));
    this.#queue.set(backend, run);
    return run;
  }

  async #discover(backend: Backend, client: Client, kinds: readonly ComponentKind[]): Promise<void> {
    const capabilities = client.getServerCapabilities() ?? {};
    const { prefix, rules } = backend;
    const make = <C extends ProxyComponent>(factory: ComponentFactory<C>, definition: C["definition"], name: string, rule?: ToolRule) =>
      factory({ definition, backend, name, rule });
    const found: Partial<Mirrored> = {};
    await Promise.all([
      kinds.includes("tools") &&
        capabilities.tools &&
        listAll<Tool>(client, "tools/list", "tools").then((tools) => {
          found.tools = tools
            .map(deepFreeze)
            .filter((t) => isVisible(rules, t.name))
            .map((t) => {
              const rule = rules?.tools?.[t.name];
              return make(this.#factories.tool, t, prefixName(prefix, rule?.name ?? t.name), rule);
            });
        }),
      kinds.includes("resources") &&
        capabilities.resources &&
        Promise.all([
          listAll<Resource>(client, "resources/list", "resources"),
          listAll<ResourceTemplate>(client, "resources/templates/list", "resourceTemplates"),
        ]).then(([resources, templates]) => {
          found.resources = resources.map(deepFreeze).filter((r) => isVisible(rules, r.uri)).map((r) => make(this.#factories.resource, r, prefixUri(prefix, r.uri)));
          found.templates = templates
            .map(deepFreeze)
            .filter((t) => isVisible(rules, t.uriTemplate))
            .map((t) => make(this.#factories.template, t, prefixUri(prefix, t.uriTemplate)));
        }),
      kinds.includes("prompts") &&
        capabilities.prompts &&
        listAll<Prompt>(client, "prompts/list", "prompts").then((prompts) => {
          found.prompts = prompts.map(deepFreeze).filter((p) => isVisible(rules, p.name)).map((p) => make(this.#factories.prompt, p, prefixName(prefix, p.name)));
        }),
    ]);
    if (this.#removed.has(backend)) return;
    const current = this.#mirrored.get(backend) ?? { tools: [], resources: [], templates: [], prompts: [] };
    this.#mirrored.set(backend, { ...current, ...found });
    this.#rebuild();
  }

  /**
   * Marks a backend down or up. A down backend's components leave the lists but stay routable,
   * so a call to one gets a clear "backend down" error rather than "unknown tool".
   */
  setDown(backend: Backend, down: boolean): void {
    if (down === this.#down.has(backend)) return;
    if (down) this.#down.add(backend);
    else this.#down.delete(backend);
    this.#rebuild();
  }

  /**
   * A reload: `removed` backends' components leave, `added` ones' are taken from `from` (where they
   * were listed), in one rebuild, so no list shows a state in between.
   */
  replace(removed: readonly Backend[], added: readonly Backend[], from: ComponentRegistry): void {
    for (const backend of removed) {
      this.#removed.add(backend);
      this.#mirrored.delete(backend);
      this.#queue.delete(backend);
      this.#down.delete(backend);
    }
    for (const backend of added) {
      const mirrored = from.#mirrored.get(backend);
      if (mirrored) this.#mirrored.set(backend, mirrored);
    }
    this.#rebuild();
  }

  tool(name: string): ProxyTool | undefined {
    return this.#tools.get(name);
  }

  prompt(name: string): ProxyPrompt | undefined {
    return this.#prompts.get(name);
  }

  /** The resource with this URI, else the first template it is an instance of. */
  resource(uri: string): ProxyResource | ProxyTemplate | undefined {
    return this.#resources.get(uri) ?? this.#templates.find((t) => t.matches(uri));
  }

  template(uriTemplate: string): ProxyTemplate | undefined {
    return this.#templates.find((t) => t.name === uriTemplate);
  }

  /** A list as clients see it (frozen: a middleware that changes it must build a new one). */
  list<K extends ListKey>(key: K): Lists[K] {
    return this.#lists[key];
  }

  /** The components behind `list(key)`, in the same order. */
  listed<K extends ListKey>(key: K): Listed[K] {
    return this.#listed[key];
  }

  #rebuild(): void {
    const collisions: string[] = [];
    const index = <C extends ProxyComponent>(all: C[], what: string) => {
      const byName = new Map<string, C>();
      for (const component of all) {
        const taken = byName.get(component.name);
        if (!taken) byName.set(component.name, component);
        // The proxy's own (local) components win over mirrored ones; that is by design, not a collision.
        else if (!taken.backend.local || component.backend.local) {
          collisions.push(`${what} "${component.name}" from backends "${taken.backend.name}" and "${component.backend.name}"`);
        }
      }
      return byName;
    };
    const all = [...this.#mirrored.entries()].sort(([a], [b]) => Number(!!b.local) - Number(!!a.local)).map(([, m]) => m);
    this.#tools = index(all.flatMap((m) => m.tools), "tool");
    this.#resources = index(all.flatMap((m) => m.resources), "resource");
    this.#templates = [...index(all.flatMap((m) => m.templates), "resource template").values()];
    this.#prompts = index(all.flatMap((m) => m.prompts), "prompt");
    const up = (c: ProxyComponent) => !this.#down.has(c.backend);
    this.#listed = {
      tools: [...this.#tools.values()].filter(up),
      resources: [...this.#resources.values()].filter(up),
      resourceTemplates: this.#templates.filter(up),
      prompts: [...this.#prompts.values()].filter(up),
    };
    this.#lists = freezeLists(this.#listed);
    for (const collision of collisions) if (!this.collisions.includes(collision)) this.#logger.warn(`name collision: ${collision}; the first mounted keeps the name`);
    this.collisions = collisions;
  }
}

/** The lists clients are shown, frozen (their items are frozen definitions or frozen copies). */
export function listOf<K extends ListKey>(key: K, components: readonly ProxyComponent[]): Lists[K] {
  return Object.freeze({ [key]: Object.freeze(components.map((c) => deepFreeze(c.toDefinition()))) }) as unknown as Lists[K];
}

/** The registry's own lists: shared by every client until the next rebuild, so their JSON text is kept. */
function freezeLists(listed: Listed): Lists {
  return {
    tools: shareable(listOf("tools", listed.tools)),
    resources: shareable(listOf("resources", listed.resources)),
    resourceTemplates: shareable(listOf("resourceTemplates", listed.resourceTemplates)),
    prompts: shareable(listOf("prompts", listed.prompts)),
  };
}

/** Freezes a definition and everything in it: what a backend listed is shared by every client. */
export function deepFreeze<T>(value: T): T {
  // With a stack, not recursion: a backend's schema may nest deeper than the call stack goes.
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== "object" || next === null || Object.isFrozen(next)) continue;
    Object.freeze(next);
    for (const inner of Object.values(next)) pending.push(inner);
  }
  return value;
}
