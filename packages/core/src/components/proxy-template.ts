import type { ResourceTemplate } from "@modelcontextprotocol/sdk/types.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import type { ComponentInit } from "./component.js";
import { unprefixUri } from "./naming.js";
import { UriComponent } from "./uri-component.js";

export class ProxyTemplate extends UriComponent<ResourceTemplate> {
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

  /** The backend's URI for an instance a client asked for: the same, without the mount's prefix. */
  backendUri(uri: string): string {
    return unprefixUri(this.backend.prefix, uri) ?? uri;
  }

  /** An argument is completed under the backend's own template. */
  protected completionRef(_uri: string): string {
    return this.definition.uriTemplate;
  }
}
