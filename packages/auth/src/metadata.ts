import type { IncomingMessage, ServerResponse } from "node:http";

export interface ResourceMetadataOptions {
  /** The canonical URL of the MCP endpoint clients use, e.g. `https://mcp.example.com/mcp`. Never taken from `Host`. */
  resource: string;
  authorizationServers: readonly string[];
  scopesSupported?: readonly string[];
  resourceName?: string;
  resourceDocumentation?: string;
}

/** The canonical form: no fragment, lowercase scheme and host, no trailing slash after a path. */
export function canonicalResource(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`resource: "${url}" is not an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new TypeError(`resource: "${url}" is not an http(s) URL`);
  parsed.hash = "";
  const text = parsed.href;
  return parsed.pathname !== "/" && text.endsWith("/") ? text.slice(0, -1) : parsed.pathname === "/" && !parsed.search ? text.slice(0, -1) : text;
}

/** RFC 9728 §3.1: the well-known path goes between the host and the resource's path. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** The Protected Resource Metadata document (RFC 9728 §2). */
export function resourceMetadata(options: ResourceMetadataOptions): Record<string, unknown> {
  return {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    // offline_access is not advertised (MCP authorization, scope selection).
    ...(options.scopesSupported ? { scopes_supported: options.scopesSupported.filter((s) => s !== "offline_access") } : {}),
    bearer_methods_supported: ["header"],
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
    ...(options.resourceDocumentation ? { resource_documentation: options.resourceDocumentation } : {}),
  };
}

/**
 * An HTTP route answering GET (and CORS preflight) at `/.well-known/oauth-protected-resource{path}`
 * and at the root well-known path, with the same document.
 */
export function metadataRoute(options: ResourceMetadataOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const body = JSON.stringify(resourceMetadata(options));
  const pathed = new URL(resourceMetadataUrl(options.resource)).pathname;
  const paths = new Set([pathed, "/.well-known/oauth-protected-resource"]);
  return function protectedResourceMetadata(req, res) {
    const target = req.url ?? "/";
    const query = target.indexOf("?");
    if (!paths.has(query < 0 ? target : target.slice(0, query))) return false;
    const cors = { "access-control-allow-origin": "*", "access-control-allow-methods": "GET, OPTIONS", "access-control-allow-headers": "mcp-protocol-version" };
    if (req.method === "OPTIONS") res.writeHead(204, cors).end();
    else if (req.method === "GET" || req.method === "HEAD") res.writeHead(200, { ...cors, "content-type": "application/json", "cache-control": "max-age=300" }).end(req.method === "GET" ? body : undefined);
    else res.writeHead(405, { ...cors, allow: "GET, OPTIONS" }).end();
    return true;
  };
}
