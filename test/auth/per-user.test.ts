// Per-user upstream OAuth through the client: a backend session that needs its user's own
// authorization answers with a URL elicitation (-32042); the user's browser goes to the backend's
// authorization server, which redirects to the proxy's callback; the proxy redeems the code for
// that principal only, and the client's retry goes through as that user.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserAuthorization, backendAuth, fileGrants, type GrantStore, type UserAuthorizationOptions } from "@fastmcp-proxy/auth";
import { logging } from "@fastmcp-proxy/logging";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { rejection } from "../helpers.js";
import { Browser, startFront, type Front } from "./setup.js";
import { startProtectedBackend, type ProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function world(
  o: { store?: GrantStore; as?: TestAuthServer; backend?: ProtectedBackend; tokenLifetimeSec?: number; users?: Partial<UserAuthorizationOptions>; log?: string[] } = {},
): Promise<{ as: TestAuthServer; backend: ProtectedBackend; front: Front; users: UserAuthorization }> {
  let users: UserAuthorization | undefined;
  const as = o.as ?? (await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }], ...(o.tokenLifetimeSec ? { tokenLifetimeSec: o.tokenLifetimeSec } : {}) }));
  if (!o.as) cleanup.push(() => as.close());
  const backend = o.backend ?? (await startProtectedBackend(as));
  if (!o.backend) cleanup.push(() => backend.close());
  const front = await startFront({
    as,
    rules: false,
    backend: () => backend.url,
    ...(o.log ? { log: o.log } : {}),
    configure: (proxy, _as, base) => {
      users = new UserAuthorization({ callbackUrl: `${base}/oauth/callback`, ...(o.store ? { store: o.store } : {}), ...o.users });
      // The proxy's own discovery session uses its service account; each user's session, the user.
      const primary = { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret" } as const;
      // The request log, with each error's message and data, as an operator would keep it.
      if (o.log) proxy.use(logging({ level: "debug", destination: { write: (line: string) => void o.log?.push(line) } }));
      proxy.use(users.middleware).credentials(backendAuth({ backend: { type: "per_user", primary } }, { users }));
      return [users.route];
    },
  });
  cleanup.push(() => front.close());
  return { as, backend, front, users: users as UserAuthorization };
}

async function userClient(front: Front, token: string): Promise<Client> {
  const client = new Client({ name: "user", version: "1" }, { capabilities: { elicitation: { url: {} } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(front.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  cleanup.push(() => client.close());
  return client;
}

/** The user's browser: the proxy's start link, the authorization server's approval, the proxy's callback. */
async function signIn(url: string, login = "alice"): Promise<Response> {
  return new Browser(login).open(url);
}

const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

describe("per-user upstream OAuth through URL elicitation", () => {
  it("asks each user to sign in once, redeems the code for that user only, and the retry goes through", async () => {
    const { as, front } = await world();
    const alice = await userClient(front, await as.mint({ sub: "alice", aud: front.url }));
    const needed = await rejection(alice.callTool({ name: "whoami" }));
    expect(needed).toBeInstanceOf(McpError);
    expect(needed.code).toBe(-32042);
    const [elicitation] = needed.data.elicitations;
    expect(elicitation.mode).toBe("url");
    // The client is given the proxy's own start link; it leads to the authorization server.
    const url = new URL(elicitation.url);
    expect(url.origin).toBe(new URL(front.url).origin);
    expect(url.pathname).toBe("/oauth/start");
    const browser = new Browser("alice");
    const callback = await browser.open(url.href);
    const authorization = browser.visited.find((u) => u.origin === as.url) as URL;
    expect(authorization.searchParams.get("redirect_uri")).toBe(`${new URL(front.url).origin}/oauth/callback`);
    expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
    expect(callback.status).toBe(200);
    expect(await callback.text()).toMatch(/Signed in/);
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");

    // Bob is not alice: his session has no grant, and gets his own sign-in link.
    const bob = await userClient(front, await as.mint({ sub: "bob", aud: front.url }));
    const bobNeeds = await rejection(bob.callTool({ name: "whoami" }));
    expect(bobNeeds.code).toBe(-32042);
    expect(bobNeeds.data.elicitations[0].url).not.toBe(elicitation.url);
  });

  it("a sign-in link works once: a replayed start link, a replayed or unknown callback are refused", async () => {
    const { as, front } = await world();
    const alice = await userClient(front, await as.mint({ sub: "alice", aud: front.url }));
    const needed = await rejection(alice.callTool({ name: "whoami" }));
    const browser = new Browser("alice");
    const atCallback = await browser.open(needed.data.elicitations[0].url, (u) => u.pathname === "/oauth/callback");
    const callback = (atCallback.stoppedAt as URL).href;
    expect((await browser.get(callback)).status).toBe(200);
    const replay = await browser.get(callback);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/unknown or expired/);
    const again = await new Browser("alice").get(needed.data.elicitations[0].url);
    expect(again.status).toBe(400);
    expect(await again.text()).toMatch(/unknown, used or expired/);
    expect((await fetch(`${new URL(front.url).origin}/oauth/callback?state=forged&code=x`)).status).toBe(400);
  });

  it("a sign-in link is bound to the principal it was issued to and the browser that started it (phishing)", async () => {
    const log: string[] = [];
    const { as, front } = await world({ log });
    const mallory = await userClient(front, await as.mint({ sub: "mallory", aud: front.url }));
    const needed = await rejection(mallory.callTool({ name: "whoami" }));
    // Mallory opens her own link as far as the authorization server, and sends that page to Alice.
    const malloryBrowser = new Browser("mallory");
    const lure = (await malloryBrowser.open(needed.data.elicitations[0].url, (u) => u.origin === as.url)).stoppedAt as URL;
    const state = lure.searchParams.get("state") as string;
    // Alice signs in there; her browser comes back to the proxy without the cookie set at start.
    const alicesBrowser = new Browser("alice");
    const callback = await alicesBrowser.open(lure.href);
    expect(callback.status).toBe(400);
    expect(await callback.text()).toMatch(/not started in this browser/);
    // Mallory's identity got nothing of Alice's: she is asked to sign in again.
    expect((await rejection(mallory.callTool({ name: "whoami" }))).code).toBe(-32042);
    // A live state is never logged (the request log has the client's link, which holds no state).
    expect(log.some((line) => line.includes("-32042"))).toBe(true);
    expect(log.filter((line) => line.includes(state))).toEqual([]);
  });

  it("with identify, a start link forwarded to another user is refused before the authorization server", async () => {
    const { as, front } = await world({ users: { identify: (req) => (req.headers["x-sso-user"] ? `${as.issuer} ${req.headers["x-sso-user"]}` : undefined) } });
    const mallory = await userClient(front, await as.mint({ sub: "mallory", aud: front.url }));
    const link = (await rejection(mallory.callTool({ name: "whoami" }))).data.elicitations[0].url;
    const alicesBrowser = new Browser("alice");
    const refused = await alicesBrowser.open(link, () => false, { "x-sso-user": "alice" });
    expect(refused.status).toBe(403);
    expect(alicesBrowser.visited.some((u) => u.origin === as.url)).toBe(false);
    // Mallory's own browser starts her own link.
    const own = (await rejection(mallory.callTool({ name: "whoami" }))).data.elicitations[0].url;
    expect((await new Browser("mallory").open(own, () => false, { "x-sso-user": "mallory" })).status).toBe(200);
    expect(text(await mallory.callTool({ name: "whoami" }))).toBe("mallory");
  });

  it("two links for one user both work (one PKCE verifier per link), and sign-ins in flight are bounded", async () => {
    const { as, front, users } = await world({ users: { maxPendingPerUser: 2 } });
    const alice = await userClient(front, await as.mint({ sub: "alice", aud: front.url }));
    const first = (await rejection(alice.callTool({ name: "whoami" }))).data.elicitations[0].url;
    const second = (await rejection(alice.callTool({ name: "whoami" }))).data.elicitations[0].url;
    expect((await signIn(first)).status).toBe(200);
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    expect((await signIn(second)).status).toBe(200);
    const bob = await userClient(front, await as.mint({ sub: "bob", aud: front.url }));
    for (let i = 0; i < 4; i++) await rejection(bob.callTool({ name: "whoami" }));
    expect(users.pending).toBe(2);
  });

  it("with fileGrants, a user's grant survives a restart (0600 files), and is never served to another principal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "grants-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const first = await world({ store: fileGrants(join(dir, "grants")) });
    const { as, backend } = first;
    const aliceToken = () => as.mint({ sub: "alice", aud: first.front.url });
    const alice = await userClient(first.front, await aliceToken());
    const needed = await rejection(alice.callTool({ name: "whoami" }));
    expect((await signIn(needed.data.elicitations[0].url)).status).toBe(200);
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    await alice.close();
    await first.front.close();

    // A new proxy on the same store: alice goes straight through; bob still has to sign in himself.
    const again = await world({ store: fileGrants(join(dir, "grants")), as, backend });
    const aliceAgain = await userClient(again.front, await as.mint({ sub: "alice", aud: again.front.url }));
    expect(text(await aliceAgain.callTool({ name: "whoami" }))).toBe("alice");
    const bob = await userClient(again.front, await as.mint({ sub: "bob", aud: again.front.url }));
    expect((await rejection(bob.callTool({ name: "whoami" }))).code).toBe(-32042);

    const files = readdirSync(join(dir, "grants"));
    expect(files.length).toBe(2); // alice's grant, and bob's sign-in in progress
    for (const name of files) {
      expect(name).not.toMatch(/alice|bob/);
      expect(statSync(join(dir, "grants", name)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(join(dir, "grants")).mode & 0o777).toBe(0o700);
    const [aliceFile, bobFile] = [...files].sort((a, b) => Number(readFileSync(join(dir, "grants", b), "utf8").includes("access_token")) - Number(readFileSync(join(dir, "grants", a), "utf8").includes("access_token")));
    expect(readFileSync(join(dir, "grants", bobFile!), "utf8")).not.toContain("access_token");
    // Even alice's file put in bob's place serves bob nothing: the record names whose it is.
    writeFileSync(join(dir, "grants", bobFile!), readFileSync(join(dir, "grants", aliceFile!)));
    expect((await rejection(bob.callTool({ name: "whoami" }))).code).toBe(-32042);
  });

  it("a user's grant is refreshed shortly before it expires, not after a failure", async () => {
    const { as, front } = await world({ tokenLifetimeSec: 2 });
    const alice = await userClient(front, await as.mint({ sub: "alice", aud: front.url }));
    const needed = await rejection(alice.callTool({ name: "whoami" }));
    expect((await signIn(needed.data.elicitations[0].url)).status).toBe(200);
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    await new Promise((r) => setTimeout(r, 1100)); // past half the 2 s lifetime, before its end
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    const refreshes = as.calls("/token").filter((r) => r.form.grant_type === "refresh_token");
    expect(refreshes.length).toBe(1);
  });
});
