import type { CompleteResult, EmptyResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import type { ResultOf } from "../methods.js";
import type { ProxyContext } from "../middleware/context.js";
import { ProxyComponent } from "./component.js";
import { prefixUri } from "./naming.js";

type UriMethod = "resources/read" | "resources/subscribe" | "resources/unsubscribe";

/**
 * What resources and templates share: every request about a URI reaches the backend under
 * `backendUri(uri)`, so overriding that one method changes read, subscribe and unsubscribe alike.
 */
export abstract class UriComponent<D> extends ProxyComponent<D> {
  /** The backend's URI for a URI a client asked for. */
  abstract backendUri(uri: string): string;

  /** The `ref.uri` a completion is asked under at the backend. */
  protected abstract completionRef(uri: string): string;

  async forward(ctx: ProxyContext<"resources/read">): Promise<ReadResourceResult> {
    return clientUris(await this.#atBackendUri(ctx), this.backend.prefix);
  }

  subscribe(ctx: ProxyContext<"resources/subscribe">): Promise<EmptyResult> {
    return this.#atBackendUri(ctx);
  }

  unsubscribe(ctx: ProxyContext<"resources/unsubscribe">): Promise<EmptyResult> {
    return this.#atBackendUri(ctx);
  }

  complete(ctx: ProxyContext<"completion/complete">): Promise<CompleteResult> {
    const ref = { ...ctx.params.ref, uri: this.completionRef(String((ctx.params.ref as { uri?: string }).uri)) };
    return ctx.forward(this.backend, "completion/complete", { ...ctx.params, ref });
  }

  #atBackendUri<M extends UriMethod>(ctx: ProxyContext<M>): Promise<ResultOf<M>> {
    const params = ctx.params as ProxyContext<UriMethod>["params"];
    return ctx.forward(this.backend, ctx.method, { ...params, uri: this.backendUri(params.uri) });
  }
}

/** Contents name the backend's URIs; a prefixed backend's are shown to clients under the prefix. */
function clientUris(result: ReadResourceResult, prefix: string | undefined): ReadResourceResult {
  if (prefix === undefined || !Array.isArray(result.contents)) return result;
  return { ...result, contents: result.contents.map((content) => ({ ...content, uri: prefixUri(prefix, content.uri) })) };
}
