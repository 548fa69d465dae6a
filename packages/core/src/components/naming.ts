/**
 * How a mounted backend's names appear to clients. A single backend keeps its names.
 * Several: tools and prompts become `{prefix}_{name}`; URIs and URI templates become
 * `scheme://{prefix}/rest`, or `{prefix}:{uri}` for a URI without `://`.
 */
export function prefixName(prefix: string | undefined, name: string): string {
  return prefix === undefined ? name : `${prefix}_${name}`;
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
