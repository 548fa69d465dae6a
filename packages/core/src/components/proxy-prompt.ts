import type { CompleteResult, GetPromptResult, Prompt } from "@modelcontextprotocol/sdk/types.js";
import type { ProxyContext } from "../middleware/context.js";
import { clientContent } from "./naming.js";
import { ProxyComponent } from "./component.js";

export class ProxyPrompt extends ProxyComponent<Prompt> {
  readonly kind = "prompt" as const;
  #definition: Prompt | undefined;

  get backendName(): string {
    return this.definition.name;
  }

  toDefinition(): Prompt {
    return (this.#definition ??= this.name === this.definition.name ? this.definition : { ...this.definition, name: this.name });
  }

  async forward(ctx: ProxyContext<"prompts/get">): Promise<GetPromptResult> {
    const result = await ctx.forward(this.backend, "prompts/get", { ...ctx.params, name: this.backendName });
    const prefix = this.backend.prefix;
    if (prefix === undefined || !Array.isArray(result.messages)) return result;
    // A message's embedded resource or resource link names the backend's URI: shown under its prefix.
    return { ...result, messages: result.messages.map((m) => ({ ...m, content: clientContent(prefix, [m.content])[0]! })) };
  }

  complete(ctx: ProxyContext<"completion/complete">): Promise<CompleteResult> {
    return ctx.forward(this.backend, "completion/complete", { ...ctx.params, ref: { ...ctx.params.ref, name: this.backendName } });
  }
}
