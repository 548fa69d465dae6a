/**
 * How a mounted backend's names appear to clients. A single backend keeps its names.
 * Several: tools and prompts become `{prefix}_{name}` (past 128 characters: the first 119, `_`,
 * and an 8-digit hash of the whole); URIs and URI templates become `scheme://{prefix}/rest`, or
 * `{prefix}:{uri}` for a URI without `://`.
 */
export function prefixName(prefix: string | undefined, name: string): string {
  if (prefix === undefined) return name;
  const full = `${prefix}_${name}`;
  // Tool names may have at most 128 characters: a longer one keeps its start and gains a short hash of the whole.
  return full.length <= MAX_NAME ? full : `${full.slice(0, MAX_NAME - 9)}_${hash8(full)}`;
}

const MAX_NAME = 128;

/** FNV-1a, as 8 hex digits: stable across runs and machines. */
function hash8(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

export function prefixUri(prefix: string | undefined, uri: string): string {
  if (prefix === undefined) return uri;
  const at = uri.indexOf("://");
  return at < 0 ? `${prefix}:${uri}` : `${uri.slice(0, at + 3)}${prefix}/${uri.slice(at + 3)}`;
}

/** The inverse of `prefixUri`; undefined when `uri` is not under `prefix`. */
export function unprefixUri(prefix: string | undefined, uri: string): string | undefined {
  if (prefix === undefined) return uri;
  const at = uri.indexOf("://");
  if (at >= 0) {
    const head = `${uri.slice(0, at + 3)}${prefix}/`;
    if (uri.startsWith(head)) return uri.slice(0, at + 3) + uri.slice(head.length);
  }
  return uri.startsWith(`${prefix}:`) ? uri.slice(prefix.length + 1) : undefined;
}

/**
 * Content blocks (a tool result's `content`, a prompt message's `content`) as clients see them: the
 * URI of a `resource_link`, and of an embedded `resource`, under the backend's prefix, so that a link
 * read back through the gateway reaches the resource it names. Other blocks are kept as they are.
 */
export function clientContent<T>(prefix: string | undefined, content: T): T {
  if (prefix === undefined || !Array.isArray(content)) return content;
  let changed = false;
  const shown = content.map((block: unknown) => {
    const b = block as { type?: unknown; uri?: unknown; resource?: { uri?: unknown } };
    if (b?.type === "resource_link" && typeof b.uri === "string") {
      changed = true;
      return { ...b, uri: prefixUri(prefix, b.uri) };
    }
    if (b?.type === "resource" && typeof b.resource?.uri === "string") {
      changed = true;
      return { ...b, resource: { ...b.resource, uri: prefixUri(prefix, b.resource.uri) } };
    }
    return block;
  });
  return (changed ? shown : content) as T;
}
