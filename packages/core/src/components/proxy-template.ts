import type { CompleteResult, EmptyResult, ReadResourceResult, ResourceTemplate } from "@modelcontextprotocol/sdk/types.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import type { ProxyContext } from "../middleware/context.js";
import { ProxyComponent, type ComponentInit } from "./component.js";
import { unprefixUri } from "./naming.js";
import { atBackendUri, clientUris } from "./proxy-resource.js";

export class ProxyTemplate extends ProxyComponent<ResourceTemplate> {
  readonly kind = "template" as const;
  readonly #template: UriTemplate;
  #definition: ResourceTemplate | undefined;

  constructor(init: ComponentInit<ResourceTemplate>) {
    super(init);
    this.#template = new UriTemplate(init.name);
  }

  toDefinition(): ResourceTemplate {
    return (this.#definition ??=
      this.name === this.definition.uriTemplate ? this.definition : { ...this.definition, uriTemplate: this.name });
  }

  /** Whether a client's URI is an instance of this template. */
  matches(uri: string): boolean {
    try {
      return this.#template.match(uri) !== null;
    } catch {
      return false;
    }
  }

  backendUri(uri: string): string {
    return unprefixUri(this.backend.prefix, uri) ?? uri;
  }

  async forward(ctx: ProxyContext<"resources/read">): Promise<ReadResourceResult> {
    return clientUris(await atBackendUri(this, ctx), this.backend.prefix);
  }

  subscribe(ctx: ProxyContext<"resources/subscribe">): Promise<EmptyResult> {
    return atBackendUri(this, ctx);
  }

  unsubscribe(ctx: ProxyContext<"resources/unsubscribe">): Promise<EmptyResult> {
    return atBackendUri(this, ctx);
  }

  /** Completes an argument of the template, under the backend's own template. */
  complete(ctx: ProxyContext<"completion/complete">): Promise<CompleteResult> {
    const ref = { ...ctx.params.ref, uri: this.definition.uriTemplate };
    return ctx.session.forward(this.backend, "completion/complete", { ...ctx.params, ref }, ctx);
  }
}
