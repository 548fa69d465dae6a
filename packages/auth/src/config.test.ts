import { describe, expect, it } from "vitest";
import { authSectionFromFlags, backendAuthFromConfig, frontAuthFromConfig } from "./config.js";

describe("frontAuthFromConfig", () => {
  it("builds bearerAuth and authorize from the config section", () => {
    const auth = frontAuthFromConfig(
      { issuer: "https://idp.example.com", requiredScopes: ["mcp"], rules: [{ tools: "admin_*", scopes: ["admin"], hide: true }] },
      { servedUrl: "http://127.0.0.1:8000/mcp" },
    );
    expect(auth.bearer?.resource).toBe("http://127.0.0.1:8000/mcp");
    expect(auth.bearer?.resourceMetadataUrl).toBe("http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp");
    expect(typeof auth.authorize).toBe("function");
  });

  it("prefers the configured resource to the served URL", () => {
    const auth = frontAuthFromConfig({ resource: "https://mcp.example.com/mcp", apiKeys: [{ key: "k", subject: "ci" }] }, { servedUrl: "http://127.0.0.1:8000/mcp" });
    expect(auth.bearer?.resource).toBe("https://mcp.example.com/mcp");
  });

  it("names the field at fault", () => {
    expect(() => frontAuthFromConfig({ issuer: "not a url" })).toThrow(/^auth\.issuer: /);
    expect(() => frontAuthFromConfig({ rules: [{ tool: "x" }] })).toThrow(/^auth\.rules\.0/);
    expect(() => frontAuthFromConfig({ issuer: "https://idp.example.com" })).toThrow(/auth\.resource: give the proxy's public URL/);
    expect(() => frontAuthFromConfig("yes")).toThrow(/^auth: /);
  });

  it("gives rules alone for a stdio front, with a fixed principal", () => {
    const auth = frontAuthFromConfig({ rules: [{ tools: "*", roles: ["ops"] }], principal: { subject: "me", claims: { roles: ["ops"] } } });
    expect(auth.bearer).toBeUndefined();
    expect(auth.authorize).toBeDefined();
  });
});

describe("backendAuthFromConfig", () => {
  it("checks each server's auth object and leaves servers without one alone", async () => {
    const credentials = backendAuthFromConfig({ a: { auth: { type: "bearer", token: "t" } }, b: {} });
    const owner = { authInfo: undefined, sessionId: undefined };
    expect(await credentials?.({ name: "a" } as never, owner)).toEqual({ headers: { authorization: "Bearer t" } });
    expect(await credentials?.({ name: "b" } as never, owner)).toBeUndefined();
    expect(backendAuthFromConfig({ b: {} })).toBeUndefined();
  });

  it("refuses unknown types and missing fields, naming the server", () => {
    expect(() => backendAuthFromConfig({ gh: { auth: { type: "magic" } } })).toThrow(/^mcpServers\.gh\.auth/);
    expect(() => backendAuthFromConfig({ gh: { auth: { type: "client_credentials", clientId: "x" } } })).toThrow(/^mcpServers\.gh\.auth/);
  });
});

describe("authSectionFromFlags", () => {
  it("maps the CLI flags onto the config section, reading the API key from the environment", () => {
    const section = authSectionFromFlags(
      { issuer: "https://idp.example.com", requiredScopes: ["a", "b"], resourceUrl: "https://mcp.example.com/mcp", apiKeyEnv: "MY_KEY" },
      { MY_KEY: "secret-key" },
    );
    expect(section).toEqual({ issuer: "https://idp.example.com", requiredScopes: ["a", "b"], resource: "https://mcp.example.com/mcp", apiKeys: [{ key: "secret-key", subject: "api-key" }] });
    const auth = frontAuthFromConfig(section);
    expect(auth.bearer?.resource).toBe("https://mcp.example.com/mcp");
  });

  it("names a missing variable, never a value", () => {
    expect(() => authSectionFromFlags({ apiKeyEnv: "NOPE" }, {})).toThrow(/--api-key-env NOPE: the environment variable NOPE is not set/);
  });
});
