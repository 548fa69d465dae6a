import { describe, expect, it } from "vitest";
import { checkDiscovery, guarded } from "./egress.js";

const discovery = (issuer: string, token = `${issuer}/token`) => ({
  authorizationServerUrl: issuer,
  authorizationServerMetadata: { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: token, response_types_supported: ["code"] },
});

describe("egress rules for advertised URLs", () => {
  it("accepts HTTPS and loopback, refuses plain HTTP elsewhere", () => {
    expect(() => checkDiscovery("api", discovery("https://idp.example.com"), undefined)).not.toThrow();
    expect(() => checkDiscovery("api", discovery("http://127.0.0.1:9000"), undefined)).not.toThrow();
    expect(() => checkDiscovery("api", discovery("http://idp.example.com"), undefined)).toThrow(/backend "api": advertised URL: http:\/\/idp\.example\.com must be an https URL/);
    expect(() => checkDiscovery("api", discovery("https://idp.example.com", "http://10.0.0.8/token"), undefined)).toThrow(/10\.0\.0\.8/);
  });

  it("limits issuers to an allowlist", () => {
    expect(() => checkDiscovery("api", discovery("https://evil.example.com"), ["https://idp.example.com"])).toThrow(/not allowed \(allowed: https:\/\/idp\.example\.com\)/);
  });

  it("guarded() checks before the provider's own saveDiscoveryState, and keeps the rest of the provider", () => {
    const saved: unknown[] = [];
    const provider = { redirectUrl: undefined, clientMetadata: { redirect_uris: [] }, marker: 7, saveDiscoveryState: (d: unknown) => void saved.push(d) } as never;
    const wrapped = guarded(provider, "api", undefined) as unknown as { marker: number; saveDiscoveryState(d: unknown): void };
    expect(wrapped.marker).toBe(7);
    wrapped.saveDiscoveryState(discovery("https://idp.example.com"));
    expect(saved).toHaveLength(1);
    expect(() => wrapped.saveDiscoveryState(discovery("http://idp.example.com"))).toThrow();
    expect(saved).toHaveLength(1);
  });
});
