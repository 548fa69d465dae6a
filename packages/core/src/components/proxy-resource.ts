import type { Resource } from "@modelcontextprotocol/sdk/types.js";
import { UriComponent } from "./uri-component.js";

export class ProxyResource extends UriComponent<Resource> {
  readonly kind = "resource" as const;
  #definition: Resource | undefined;

  toDefinition(): Resource {
    return (this.#definition ??= this.name === this.definition.uri ? this.definition : { ...this.definition, uri: this.name });
  }

  /** The backend's URI for a URI a client asked for: its own. */
  backendUri(_uri: string): string {
    return this.definition.uri;
  }

  protected completionRef(uri: string): string {
    return this.backendUri(uri);
  }
}
