import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseErrorResponse } from "@modelcontextprotocol/sdk/client/auth.js";
import { InvalidGrantError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { describe, expect, it } from "vitest";
import { checkDiscovery, guarded } from "./egress.js";
import { addressRefusal, guardedFetch } from "./guarded-fetch.js";

const discovery = (issuer: string, token = `${issuer}/token`) => ({
  authorizationServerUrl: issuer,
  authorizationServerMetadata: { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: token, response_types_supported: ["code"] },
});

describe("egress rules for advertised URLs", () => {
  it("accepts HTTPS and loopback, refuses plain HTTP elsewhere", () => {
    expect(() => checkDiscovery("api", discovery("https://idp.example.com"))).not.toThrow();
    expect(() => checkDiscovery("api", discovery("http://127.0.0.1:9000"))).not.toThrow();
    expect(() => checkDiscovery("api", discovery("http://idp.example.com"))).toThrow(/backend "api": advertised URL: http:\/\/idp\.example\.com must be an https URL/);
    expect(() => checkDiscovery("api", discovery("https://idp.example.com", "http://10.0.0.8/token"))).toThrow(/10\.0\.0\.8/);
  });

  it("limits issuers to an allowlist", () => {
    expect(() => checkDiscovery("api", discovery("https://evil.example.com"), { allowed: ["https://idp.example.com"] })).toThrow(/not allowed \(allowed: https:\/\/idp\.example\.com\)/);
  });

  it("refuses metadata naming another issuer than the URL it was fetched for (RFC 8414 §3.3), give or take a trailing slash", () => {
    const claimed = { authorizationServerUrl: "https://evil.example.com", authorizationServerMetadata: discovery("https://idp.example.com").authorizationServerMetadata };
    expect(() => checkDiscovery("api", claimed)).toThrow(/names the issuer https:\/\/idp\.example\.com; they must be the same \(RFC 8414 §3\.3\)/);
    expect(checkDiscovery("api", { ...discovery("https://idp.example.com"), authorizationServerUrl: "https://idp.example.com/" })).toBe("https://idp.example.com");
  });

  it("pins the first issuer when asked to", () => {
    const pin = { issuer: undefined as string | undefined };
    checkDiscovery("api", discovery("https://idp.example.com"), { pin });
    expect(pin.issuer).toBe("https://idp.example.com");
    expect(() => checkDiscovery("api", discovery("https://other.example.com"), { pin })).toThrow(/client credentials stay with https:\/\/idp\.example\.com/);
  });

  it("classifies addresses: loopback only when allowed, special ranges (IPv4-mapped too) unless allowed", () => {
    const strict = { loopback: false, allowPrivate: false };
    for (const ip of ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "fe80::1", "fd00:ec2::254", "::ffff:a9fe:a9fe", "::"]) {
      expect(addressRefusal(ip, strict), ip).toMatch(/private, link-local or reserved/);
    }
    for (const ip of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1"]) expect(addressRefusal(ip, strict), ip).toMatch(/loopback/);
    expect(addressRefusal("127.0.0.1", { loopback: true, allowPrivate: false })).toBeUndefined();
    expect(addressRefusal("10.0.0.1", { loopback: false, allowPrivate: true })).toBeUndefined();
    expect(addressRefusal("93.184.216.34", strict)).toBeUndefined();
    expect(addressRefusal("2606:2800:220:1::1", strict)).toBeUndefined();
  });

  it("guarded() checks before the provider's own saveDiscoveryState, and keeps the rest of the provider", () => {
    const saved: unknown[] = [];
    const provider = { redirectUrl: undefined, clientMetadata: { redirect_uris: [] }, marker: 7, saveDiscoveryState: (d: unknown) => void saved.push(d) } as never;
    const wrapped = guarded(provider, "api") as unknown as { marker: number; saveDiscoveryState(d: unknown): void };
    expect(wrapped.marker).toBe(7);
    wrapped.saveDiscoveryState(discovery("https://idp.example.com"));
    expect(saved).toHaveLength(1);
    expect(() => wrapped.saveDiscoveryState(discovery("http://idp.example.com"))).toThrow();
    expect(saved).toHaveLength(1);
  });
});

describe("guardedFetch's responses", () => {
  it("are Node's own Response, so that the SDK reads an OAuth error's code from them (not \"[object Response]\")", async () => {
    const server = createServer((_req, res) => void res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_grant", error_description: "expired assertion" })));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
      const response = await guardedFetch(url)(url, { method: "POST" });
      expect(response).toBeInstanceOf(Response);
      expect(response.url).toBe(url);
      const error = await parseErrorResponse(response);
      expect(error).toBeInstanceOf(InvalidGrantError);
      expect(error.message).toBe("expired assertion");
    } finally {
      server.close();
    }
  });
});
