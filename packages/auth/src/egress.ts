import type { OAuthClientProvider, OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import { safeUrl } from "./jwt.js";

/**
 * Egress rules for what a backend advertises: its authorization server and the endpoints in that
 * server's metadata are HTTPS (or loopback), and the issuer is one of `issuers` when given. Checked
 * when the SDK reports discovery, before any authorization or token request is sent.
 */
export function checkDiscovery(backend: string, discovery: OAuthDiscoveryState, issuers: readonly string[] | undefined): void {
  const metadata = discovery.authorizationServerMetadata as Record<string, unknown> | undefined;
  const issuer = typeof metadata?.issuer === "string" ? metadata.issuer : discovery.authorizationServerUrl;
  if (issuers?.length && !issuers.includes(issuer)) {
    throw new Error(`backend "${backend}" names the authorization server ${issuer}, which is not allowed (allowed: ${issuers.join(", ")})`);
  }
  const urls = [discovery.authorizationServerUrl, ...["authorization_endpoint", "token_endpoint", "registration_endpoint"].map((k) => metadata?.[k])];
  for (const url of urls) if (typeof url === "string") safeUrl(url, `backend "${backend}": advertised URL`);
}

/** The provider with `checkDiscovery` run first whenever the SDK saves discovery state. */
export function guarded<P extends OAuthClientProvider>(provider: P, backend: string, issuers: readonly string[] | undefined): P {
  const save = provider.saveDiscoveryState?.bind(provider);
  return Object.assign(Object.create(provider) as P, {
    saveDiscoveryState(discovery: OAuthDiscoveryState) {
      checkDiscovery(backend, discovery, issuers);
      return save?.(discovery);
    },
  });
}
