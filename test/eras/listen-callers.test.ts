// subscriptions/listen of two callers through one proxy: the resources a listen stream names are
// subscribed to as its caller (the rules and middleware judge that caller), and a resource's update
// reaches only the streams of the callers subscribed to it. Real HTTP on 127.0.0.1; the callers are
// told apart by a header an `authenticate` of the test's reads.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { createFixtureServer, observed } from "../fixtures/fixture-server.mjs";
import { openListen } from "./harness.js";

const HELLO = "fixture://static/hello";

let proxy: FastMCPProxy | undefined;
const streams: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of streams.splice(0)) await close();
  await proxy?.close();
  proxy = undefined;
});

/** A listen stream of `user`'s naming `uris`; `updated()`: the URIs of the resources/updated it was sent. */
async function listen(url: string, user: string, uris: string[]) {
  const { frames, close } = await openListen(url, `listen-${user}`, { notifications: { resourceSubscriptions: uris } }, { "x-user": user });
  streams.push(close);
  return { updated: () => frames.filter((f) => f.method === "notifications/resources/updated").map((f) => f.params?.uri) };
}

describe("subscriptions/listen: each caller subscribes as itself", () => {
  it("alice's stream is told of the resource only she may subscribe to; bob's, naming it too, never is", async () => {
    const backend = createFixtureServer();
    proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
    // Only alice may subscribe to HELLO (a rule as an auth package would make one).
    proxy.use("resources/subscribe", async function onlyAlice(ctx, next) {
      if (ctx.tenant.principal !== "alice") throw Object.assign(new Error(`${ctx.tenant.principal ?? "anonymous"} may not subscribe`), { code: ProxyErrorCode.Forbidden });
      return next();
    });
    const { url } = await proxy.run({
      transport: "http",
      host: "127.0.0.1",
      port: 0,
      authenticate: (req) => ({ token: String(req.headers["x-user"]), clientId: "test", scopes: [], extra: { identity: String(req.headers["x-user"]) } }),
    });
    observed.subscribed = [];
    const bob = await listen(url!, "bob", [HELLO]);
    const alice = await listen(url!, "alice", [HELLO]);
    // The fixture tells of a change just after a subscription; then the backend tells of another.
    for (let i = 0; i < 100 && alice.updated().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await backend.notification({ method: "notifications/resources/updated", params: { uri: HELLO } });
    for (let i = 0; i < 100 && alice.updated().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 150));
    expect(bob.updated()).toEqual([]);
    expect(alice.updated()).toEqual([HELLO, HELLO]);
    expect(observed.subscribed).toEqual([HELLO]); // alice's; bob's was refused
  });
});
