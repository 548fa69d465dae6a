import type { CompleteResult, EmptyResult, ReadResourceResult, Resource } from "@modelcontextprotocol/sdk/types.js";
import type { ResultOf } from "../methods.js";
import type { ProxyContext } from "../middleware/context.js";
import type { ProxyTemplate } from "./proxy-template.js";
import { ProxyComponent } from "./component.js";
import { prefixUri } from "./naming.js";

export class ProxyResource extends ProxyComponent<Resource> {
  readonly kind = "resource" as const;
  #definition: Resource | undefined;

  toDefinition(): Resource {
    return (this.#definition ??= this.name === this.definition.uri ? this.definition : { ...this.definition, uri: this.name });
  }

  /** The backend's URI for a URI a client asked for. */
  backendUri(_uri: string): string {
    return this.definition.uri;
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

  complete(ctx: ProxyContext<"completion/complete">): Promise<CompleteResult> {
    const ref = { ...ctx.params.ref, uri: this.backendUri(String((ctx.params.ref as { uri?: string }).uri)) };
    return ctx.session.forward(this.backend, "completion/complete", { ...ctx.params, ref }, ctx);
  }
}

type UriMethod = "resources/read" | "resources/subscribe" | "resources/unsubscribe";

/** A request about a URI, sent to the component's backend under the backend's URI (resources and templates alike). */
export function atBackendUri<M extends UriMethod>(component: ProxyResource | ProxyTemplate, ctx: ProxyContext<M>): Promise<ResultOf<M>> {
  const params = ctx.params as ProxyContext<UriMethod>["params"];
  return ctx.session.forward(component.backend, ctx.method, { ...params, uri: component.backendUri(params.uri) }, ctx);
}

/** Contents name the backend's URIs; a prefixed backend's are shown to clients under the prefix. */
export function clientUris(result: ReadResourceResult, prefix: string | undefined): ReadResourceResult {
  if (prefix === undefined || !Array.isArray(result.contents)) return result;
  return { ...result, contents: result.contents.map((content) => ({ ...content, uri: prefixUri(prefix, content.uri) })) };
}
