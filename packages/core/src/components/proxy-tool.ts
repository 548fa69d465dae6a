import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ResultOf } from "../methods.js";
import type { ProxyContext } from "../middleware/context.js";
import { ProxyComponent, type ComponentInit } from "./component.js";
import { clientContent } from "./naming.js";
import { backendArguments, shownTool, type ToolRule } from "./rules.js";

export class ProxyTool extends ProxyComponent<Tool> {
  readonly kind = "tool" as const;
  /** Renames, overrides and argument defaults from the backend's rules, if any. */
  readonly rule: ToolRule | undefined;
  #definition: Tool | undefined;

  constructor(init: ComponentInit<Tool>) {
    super(init);
    this.rule = init.rule;
  }

  get backendName(): string {
    return this.definition.name;
  }

  toDefinition(): Tool {
    if (this.#definition) return this.#definition;
    const shown = shownTool(this.definition, this.rule);
    return (this.#definition = this.name === shown.name ? shown : { ...shown, name: this.name });
  }

  /**
   * Calls the backend tool. An `isError` result is a value and passes through unchanged. A
   * task-augmented call (`params.task`) answers with the backend's CreateTaskResult.
   */
  forward(ctx: ProxyContext<"tools/call">): Promise<ResultOf<"tools/call">> {
    const args = this.rule ? backendArguments(this.rule, ctx.params.arguments) : ctx.params.arguments;
    // Forwarded as they came when the backend knows the tool by the same name (the forwarder copies them anyway).
    const params = ctx.params.name === this.backendName && args === ctx.params.arguments ? ctx.params : { ...ctx.params, name: this.backendName, arguments: args };
    const answered = ctx.forward(this.backend, "tools/call", params);
    const prefix = this.backend.prefix;
    // Unprefixed, the result is handed on as it comes, not read at all (a large one is then never
    // parsed: wire/raw.ts), and with no async frame of its own.
    if (prefix === undefined) return answered;
    // Resource links in the result name the backend's URIs: shown under its prefix, as its resources are.
    return answered.then((result) => {
      const content = (result as { content?: unknown }).content;
      const shown = clientContent(prefix, content);
      return shown === content ? result : ({ ...result, content: shown } as ResultOf<"tools/call">);
    });
  }
}
