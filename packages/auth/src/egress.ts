import type { OAuthClientProvider, OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import { safeUrl } from "./jwt.js";

/** Which authorization servers a backend's OAuth client may use. */
export interface IssuerPolicy {
  /** The only issuers allowed (`issuer` in a backend's auth). */
  allowed?: readonly string[] | undefined;
  /**
   * For a client with a configured secret or key: without `allowed`, the first issuer it is used
   * with is pinned (shared by every provider of the backend), and it is never sent to another one.
   */
  pin?: { issuer?: string | undefined } | undefined;
}

/** RFC 8414 §3.3: the same URL, give or take a trailing slash. */
const sameIssuer = (a: string, b: string) => a.replace(/\/$/, "") === b.replace(/\/$/, "");

/**
 * Egress rules for what a backend advertises, checked when the SDK reports discovery, before any
 * registration, authorization or token request: the metadata's issuer is the URL it was fetched
 * for (RFC 8414 §3.3), it is allowed (or pinned), and the endpoints are HTTPS (or loopback).
 * Returns the issuer.
 */
export function checkDiscovery(backend: string, discovery: OAuthDiscoveryState, policy: IssuerPolicy = {}): string {
  const metadata = discovery.authorizationServerMetadata as Record<string, unknown> | undefined;
  const issuer = typeof metadata?.issuer === "string" ? metadata.issuer : discovery.authorizationServerUrl;
  if (!sameIssuer(issuer, discovery.authorizationServerUrl)) {
    throw new Error(`backend "${backend}": the metadata of the authorization server ${discovery.authorizationServerUrl} names the issuer ${issuer}; they must be the same (RFC 8414 §3.3)`);
  }
  if (policy.allowed?.length && !policy.allowed.some((allowed) => sameIssuer(allowed, issuer))) {
    throw new Error(`backend "${backend}" names the authorization server ${issuer}, which is not allowed (allowed: ${policy.allowed.join(", ")})`);
  }
  if (!policy.allowed?.length && policy.pin) {
    policy.pin.issuer ??= issuer;
    if (!sameIssuer(policy.pin.issuer, issuer)) {
      throw new Error(`backend "${backend}" now names the authorization server ${issuer}, but its client credentials stay with ${policy.pin.issuer}, where they were first used (set its auth's \`issuer\` to move them)`);
    }
  }
  const urls = [discovery.authorizationServerUrl, ...["authorization_endpoint", "token_endpoint", "registration_endpoint"].map((k) => metadata?.[k])];
  for (const url of urls) if (typeof url === "string") safeUrl(url, `backend "${backend}": advertised URL`);
  return issuer;
}

/** The provider with `checkDiscovery` run first whenever the SDK saves discovery state. */
export function guarded<P extends OAuthClientProvider>(provider: P, backend: string, policy: IssuerPolicy = {}): P {
  const save = provider.saveDiscoveryState?.bind(provider);
  return Object.assign(Object.create(provider) as P, {
    saveDiscoveryState(discovery: OAuthDiscoveryState) {
      checkDiscovery(backend, discovery, policy);
      return save?.(discovery);
    },
  });
}
