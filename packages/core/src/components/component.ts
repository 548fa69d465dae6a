import type { Backend } from "../backends/backend.js";
import type { ToolRule } from "./rules.js";

/** What every mirrored component is built from: the backend's own definition and the name clients see. */
export interface ComponentInit<D> {
  readonly definition: D;
  readonly backend: Backend;
  /** The name (tools, prompts) or URI (resources, templates) the proxy's clients see. */
  readonly name: string;
  /** For tools: how it is shown and called (see ComponentRules). */
  readonly rule?: ToolRule | undefined;
}

/** A backend component mirrored by the proxy. Subclass a concrete one to change how it forwards. */
export abstract class ProxyComponent<D = unknown> {
  abstract readonly kind: "tool" | "resource" | "template" | "prompt";
  /** The backend's definition, exactly as listed (unknown fields included). */
  readonly definition: D;
  readonly backend: Backend;
  readonly name: string;

  constructor(init: ComponentInit<D>) {
    this.definition = init.definition;
    this.backend = init.backend;
    this.name = init.name;
  }

  /** The definition as clients see it: the backend's, under the proxy's name. */
  abstract toDefinition(): D;
}

export type ComponentClass<C extends ProxyComponent> = new (init: ComponentInit<C["definition"]>) => C;
