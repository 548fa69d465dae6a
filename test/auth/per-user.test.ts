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
import { UserAuthorization, backendAuth, fileGrants, type GrantStore } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { rejection } from "../helpers.js";
import { startFront, type Front } from "./setup.js";
import { startProtectedBackend, type ProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function world(o: { store?: GrantStore; as?: TestAuthServer; backend?: ProtectedBackend; tokenLifetimeSec?: number } = {}): Promise<{ as: TestAuthServer; backend: ProtectedBackend; front: Front }> {
  const as = o.as ?? (await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }], ...(o.tokenLifetimeSec ? { tokenLifetimeSec: o.tokenLifetimeSec } : {}) }));
  if (!o.as) cleanup.push(() => as.close());
  const backend = o.backend ?? (await startProtectedBackend(as));
  if (!o.backend) cleanup.push(() => backend.close());
  const front = await startFront({
    as,
    rules: false,
    backend: () => backend.url,
    configure: (proxy, _as, base) => {
      const users = new UserAuthorization({ callbackUrl: `${base}/oauth/callback`, ...(o.store ? { store: o.store } : {}) });
      // The proxy's own discovery session uses its service account; each user's session, the user.
      const primary = { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret" } as const;
      proxy.use(users.middleware).credentials(backendAuth({ backend: { type: "per_user", primary } }, { users }));
      return [users.route];
    },
  });
  cleanup.push(() => front.close());
  return { as, backend, front };
}

async function userClient(front: Front, token: string): Promise<Client> {
  const client = new Client({ name: "user", version: "1" }, { capabilities: { elicitation: { url: {} } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(front.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  cleanup.push(() => client.close());
  return client;
}

/** The user's browser: the authorization server approves and redirects to the proxy's callback. */
async function signIn(url: string): Promise<Response> {
  const approved = await fetch(url, { redirect: "manual" });
  return fetch(approved.headers.get("location") as string);
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
    const url = new URL(elicitation.url);
    expect(url.origin).toBe(as.url);
    expect(url.searchParams.get("redirect_uri")).toBe(`${new URL(front.url).origin}/oauth/callback`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    // The authorization server signs the user in as "alice" (its login_hint stands for the login page).
    url.searchParams.set("login_hint", "alice");
    const callback = await signIn(url.href);
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

  it("a sign-in link works once: a replayed or unknown callback is refused", async () => {
    const { as, front } = await world();
    const alice = await userClient(front, await as.mint({ sub: "alice", aud: front.url }));
    const needed = await rejection(alice.callTool({ name: "whoami" }));
    const approved = await fetch(needed.data.elicitations[0].url, { redirect: "manual" });
    const callback = approved.headers.get("location") as string;
    expect((await fetch(callback)).status).toBe(200);
    const replay = await fetch(callback);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/unknown or expired/);
    expect((await fetch(`${new URL(front.url).origin}/oauth/callback?state=forged&code=x`)).status).toBe(400);
  });

  it("with fileGrants, a user's grant survives a restart (0600 files), and is never served to another principal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "grants-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const first = await world({ store: fileGrants(join(dir, "grants")) });
    const { as, backend } = first;
    const aliceToken = () => as.mint({ sub: "alice", aud: first.front.url });
    const alice = await userClient(first.front, await aliceToken());
    const needed = await rejection(alice.callTool({ name: "whoami" }));
    const url = new URL(needed.data.elicitations[0].url);
    url.searchParams.set("login_hint", "alice");
    expect((await signIn(url.href)).status).toBe(200);
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
    const url = new URL(needed.data.elicitations[0].url);
    url.searchParams.set("login_hint", "alice");
    expect((await signIn(url.href)).status).toBe(200);
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    await new Promise((r) => setTimeout(r, 1100)); // past half the 2 s lifetime, before its end
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    const refreshes = as.calls("/token").filter((r) => r.form.grant_type === "refresh_token");
    expect(refreshes.length).toBe(1);
  });
});
