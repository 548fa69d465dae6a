import type { CompleteResult, GetPromptResult, Prompt } from "@modelcontextprotocol/sdk/types.js";
import type { ProxyContext } from "../middleware/context.js";
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

  forward(ctx: ProxyContext<"prompts/get">): Promise<GetPromptResult> {
    return ctx.forward(this.backend, "prompts/get", { ...ctx.params, name: this.backendName });
  }

  complete(ctx: ProxyContext<"completion/complete">): Promise<CompleteResult> {
    return ctx.forward(this.backend, "completion/complete", { ...ctx.params, ref: { ...ctx.params.ref, name: this.backendName } });
  }
}
