import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ProxyContext } from "../middleware/context.js";
import { ProxyComponent } from "./component.js";

export class ProxyTool extends ProxyComponent<Tool> {
  readonly kind = "tool" as const;
  #definition: Tool | undefined;

  get backendName(): string {
    return this.definition.name;
  }

  toDefinition(): Tool {
    return (this.#definition ??= this.name === this.definition.name ? this.definition : { ...this.definition, name: this.name });
  }

  /** Calls the backend tool. An `isError` result is a value and passes through unchanged. */
  forward(ctx: ProxyContext<"tools/call">): Promise<CallToolResult> {
    return ctx.session.forward(this.backend, "tools/call", { ...ctx.params, name: this.backendName }, ctx);
  }
}
