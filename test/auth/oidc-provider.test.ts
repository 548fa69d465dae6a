// End to end against an independent OpenID provider (oidc-provider): the client registers for the
// scopes the proxy's metadata lists, the SDK client discovers the provider from the proxy's 401,
// signs in with PKCE, gets an RFC 9068 JWT access token for the proxy's URL, lists and calls, and
// steps up to a wider scope when a tool needs one (the provider refuses unregistered scopes).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed } from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterEach, describe, expect, it } from "vitest";
import { OidcServer } from "../fixtures/oidc-server.js";
import { authorize } from "@fastmcp-proxy/auth";
import { Browser, BrowserlessProvider, RULES, startFront, type Front } from "./setup.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** The SDK client's OAuth provider, with a browser that keeps the provider's cookies across its redirects. */
class BrowserProvider extends BrowserlessProvider {
  readonly callbacks: URL[] = [];
  override async redirectToAuthorization(url: URL) {
    this.authorizations.push(url);
    const browser = new Browser();
    const landed = await browser.open(url.href, (u) => u.href.startsWith(this.redirectUrl));
    const callback = landed.stoppedAt as URL;
    this.callbacks.push(callback);
    this.code = callback.searchParams.get("code") ?? undefined;
  }
}

describe("end to end against oidc-provider", () => {
  it("registration for scopes_supported, discovery, PKCE, a JWT access token, list and call, then step-up", async () => {
    let resource = "";
    const op = await OidcServer.start({ resource: () => resource, scopes: ["notes:read", "notes:write", "notes:admin"] });
    cleanup.push(() => op.close());
    // The JWKS comes from the provider's metadata; only RFC 9068 access tokens are accepted.
    const front: Front = await startFront({
      jwt: { issuer: op.issuer, jwksUri: undefined, requireAtJwt: true },
      bearer: { authorizationServers: [op.issuer], requiredScopes: ["notes:read"], scopesSupported: authorize(RULES).scopes },
    });
    cleanup.push(() => front.close());
    resource = front.url;

    // The client registers (RFC 7591) for every scope the proxy's metadata lists: the provider
    // refuses an authorization for a scope the client did not register, so a step-up needs them all.
    const metadata = (await (await fetch(front.auth.resourceMetadataUrl)).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toEqual(["notes:read", "notes:write", "notes:admin"]);
    const provider = new BrowserProvider();
    const registration = await fetch(`${op.url}/reg`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...provider.clientMetadata, grant_types: ["authorization_code"], scope: metadata.scopes_supported.join(" ") }),
    });
    expect(registration.status).toBe(201);
    provider.saveClientInformation((await registration.json()) as OAuthClientInformationMixed);
    const connect = async () => {
      const transport = new StreamableHTTPClientTransport(new URL(front.url), { authProvider: provider });
      const client = new Client({ name: "oidc-client", version: "1" });
      await client.connect(transport);
      cleanup.push(() => client.close());
      return { client, transport };
    };
    const first = new StreamableHTTPClientTransport(new URL(front.url), { authProvider: provider });
    await expect(new Client({ name: "oidc-client", version: "1" }).connect(first)).rejects.toThrow(UnauthorizedError);
    expect(provider.authorizations[0]?.searchParams.get("code_challenge_method")).toBe("S256");
    expect(provider.authorizations[0]?.searchParams.get("resource")).toBe(front.url);
    expect(provider.callbacks[0]?.searchParams.get("iss")).toBe(op.issuer); // RFC 9207
    await first.finishAuth(provider.code as string);
    const token = provider.tokens()?.access_token as string;
    expect(JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()).typ).toBe("at+jwt");

    const { client, transport } = await connect();
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("read_notes");
    expect(((await client.callTool({ name: "read_notes" })).content as { text: string }[])[0]?.text).toBe("notes");

    // write_note needs notes:write: the proxy's 403 makes the client ask the provider for more.
    await expect(client.callTool({ name: "write_note", arguments: { text: "hi" } })).rejects.toThrow(UnauthorizedError);
    expect(provider.authorizations[1]?.searchParams.get("scope")?.split(" ").sort()).toEqual(["notes:read", "notes:write"]);
    await transport.finishAuth(provider.code as string);
    const again = await connect();
    expect(((await again.client.callTool({ name: "write_note", arguments: { text: "hi" } })).content as { text: string }[])[0]?.text).toBe("wrote hi");
  });
});
