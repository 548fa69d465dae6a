// rateLimit({ holdConnections }): a principal over its limit has its refused keep-alive connections
// held unread until its next token, one per token, so a flood reaches the proxy about once per token.
// Real HTTP on 127.0.0.1, the real proxy, bearer tokens from the test authorization server.
import { afterEach, describe, expect, it } from "vitest";
import type { Authenticate } from "@fastmcp-proxy/core";
import { rateLimit, type RateLimitOptions } from "@fastmcp-proxy/auth";
import { until } from "../helpers.js";
import { RawConnection } from "../raw-connection.js";
import { call, openSession, startFront, type Front } from "./setup.js";

let front: Front | undefined;
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  await front?.close();
  front = undefined;
});

/** The front with `limit` as middleware and at the front; each principal's `reached()`: its requests that reached authenticate. */
async function limitedFront(options: RateLimitOptions) {
  const limit = rateLimit(options);
  const reached = new Map<string, number>();
  const counting = (auth: Authenticate): Authenticate => {
    const judged = limit.front(auth);
    return (req, front) => {
      const token = req.headers.authorization ?? "";
      reached.set(token, (reached.get(token) ?? 0) + 1);
      return judged(req, front);
    };
  };
  front = await startFront({ rules: false, configure: (p) => void p.use(limit), authenticate: counting });
  const principal = async (sub: string) => {
    const token = await front!.as.mint({ sub });
    const session = await openSession(front!.url, token);
    // Its requests from here on (initialize and its notification not counted).
    const count = () => reached.get(`Bearer ${token}`) ?? 0;
    const before = count();
    return { token, session, reached: () => count() - before };
  };
  return { limit, url: front.url, principal };
}

type Principal = Awaited<ReturnType<Awaited<ReturnType<typeof limitedFront>>["principal"]>>;

/** A tools/call read_notes as `who` on a new raw connection (kept for the test). */
function connection(url: string): RawConnection {
  const opened = new RawConnection(url);
  connections.push(opened);
  return opened;
}

function send(on: RawConnection, who: Principal, id: number): void {
  on.post({ authorization: `Bearer ${who.token}`, "mcp-session-id": who.session, "mcp-protocol-version": "2025-06-18" }, { jsonrpc: "2.0", id, method: "tools/call", params: { name: "read_notes", arguments: {} } });
}

/**
 * `who` floods over `sockets` keep-alive connections for `ms`: each sends again as soon as it is
 * answered. Every answer is checked: 200 with its own id and result, or 429; none lost or mixed up.
 */
async function flood(url: string, who: Principal, sockets: number, ms: number, steadyFromMs = ms) {
  // refusedSteady: refusals answered from steadyFromMs on, once every connection has been held.
  const counts = { sent: 0, served: 0, refused: 0, refusedSteady: 0 };
  const steadyFrom = Date.now() + steadyFromMs;
  const end = Date.now() + ms;
  let id = 1000;
  await Promise.all(
    Array.from({ length: sockets }, async () => {
      const on = connection(url);
      while (Date.now() < end) {
        const mine = id++;
        send(on, who, mine);
        counts.sent++;
        const answer = await on.answer();
        if (answer.status === 429) {
          counts.refused++;
          if (Date.now() >= steadyFrom) counts.refusedSteady++;
          expect(JSON.parse(answer.body).error.message).toMatch(/Too many requests/);
          continue;
        }
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({ id: mine, result: { content: [{ text: "notes" }] } });
        counts.served++;
      }
    }),
  );
  return counts;
}

/**
 * A connection of `who`'s, sent on until the limiter holds it: after the front's refusal, or after an
 * answer let through on a token while `who` keeps sending (the pipeline's 429s are not held). Each
 * turn may bring a 200, never a refusal: whether it does depends on whether the hold's tick comes
 * after the bucket's token, so the status alone cannot say whether a connection is held.
 */
async function heldConnection(url: string, who: Principal, limit: { heldConnections: number }): Promise<RawConnection> {
  const on = connection(url);
  const before = limit.heldConnections;
  const statuses: number[] = [];
  for (let id = 2; id < 40; id++) {
    send(on, who, id);
    statuses.push((await on.answer()).status);
    if (limit.heldConnections > before) return on;
  }
  throw new Error(`never held; answered ${statuses.join(", ")}`);
}

describe("rateLimit({ holdConnections }): a flooding principal's connections held", () => {
  it("a flood over keep-alive connections reaches authenticate about once per token, not once per request; every request is answered, and alice is served throughout", async () => {
    const capacity = 5;
    const perSecond = 20;
    const sockets = 8;
    const { url, principal, limit } = await limitedFront({ capacity, perSecond, holdConnections: true });
    const [bob, alice] = [await principal("bob"), await principal("alice")];
    const started = Date.now();
    const bobFlooding = flood(url, bob, sockets, 1000);
    // Alice, on her own connections, at 10 calls a second: within her allowance, never refused.
    const aliceStatuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      aliceStatuses.push((await call(url, alice.token, alice.session, "read_notes", {}, 10 + i)).status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const bobCounts = await bobFlooding;
    const seconds = (Date.now() - started) / 1000;
    expect(aliceStatuses).toEqual(Array(10).fill(200));
    // Bob is served his allowance. Once he is over it, a connection refused is held until his next
    // token, and one let through on a token is held once answered: his allowance reaches
    // authenticate, plus a refusal or two per connection, whatever he offers.
    const allowance = capacity + perSecond * seconds;
    expect(bobCounts.served).toBeGreaterThan(allowance / 2);
    expect(bobCounts.served).toBeLessThanOrEqual(allowance + 1);
    expect(bob.reached()).toBe(bobCounts.sent);
    expect(bobCounts.refused).toBeLessThanOrEqual(2 * sockets);
    expect(bob.reached()).toBeLessThanOrEqual(allowance + 2 * sockets);
    // Nothing stays held once he stops.
    await until(() => limit.heldConnections === 0, "no connection held");
  });

  it("turns that come late (the event loop blocked, as by a GC pause) are each admitted and held again: a steady flood is never refused", async () => {
    // A turn every 20 ms; a capacity the stalls do not fill (a full bucket restarts its clock when taken from).
    const perSecond = 50;
    const capacity = 10;
    const { url, principal, limit } = await limitedFront({ capacity, perSecond, holdConnections: true });
    const bob = await principal("bob");
    const started = Date.now();
    const flooding = flood(url, bob, 4, 1600, 500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Five stalls of 70 ms, each 3.5 turns long: the timer then resumes 3 or 4 connections at once.
    for (let i = 0; i < 5; i++) {
      const until = Date.now() + 70;
      while (Date.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    const counts = await flooding;
    expect(counts.refusedSteady).toBe(0);
    // Still one request per token: the stalls gave no one more than the bucket held.
    expect(counts.served).toBeLessThanOrEqual(capacity + (perSecond * (Date.now() - started)) / 1000 + 1);
    expect(counts.served).toBeGreaterThan((perSecond * 1.6) / 2);
    await until(() => limit.heldConnections === 0, "no connection held");
  });

  it("without the option, the same flood reaches authenticate with every request (behaviour unchanged)", async () => {
    const { url, principal, limit } = await limitedFront({ capacity: 5, perSecond: 20 });
    const bob = await principal("bob");
    const counts = await flood(url, bob, 8, 1000);
    expect(bob.reached()).toBe(counts.sent);
    expect(counts.sent).toBeGreaterThan(5 * (5 + 20 + 8));
    expect(limit.heldConnections).toBe(0);
  });

  it("holds at most perCaller connections of a principal and total in all: past that the 429 closes its connection; another principal is never held", async () => {
    // A token every 100 s: once empty, bob and carol stay refused at the front.
    const { url, principal, limit } = await limitedFront({ capacity: 1, perSecond: 0.01, holdConnections: { perCaller: 2, total: 3 } });
    const [bob, carol, alice] = [await principal("bob"), await principal("carol"), await principal("alice")];
    for (const who of [bob, carol]) {
      expect((await call(url, who.token, who.session, "read_notes", {}, 2)).status).toBe(200);
      expect((await call(url, who.token, who.session, "read_notes", {}, 3)).status).toBe(429); // refused in the pipeline: not held
    }
    const refusedOn = async (who: Principal) => {
      const on = connection(url);
      send(on, who, 4);
      const answer = await on.answer();
      expect(answer.status).toBe(429);
      return answer.head.includes("connection: close") ? "closed" : "held";
    };
    expect([await refusedOn(bob), await refusedOn(bob), await refusedOn(bob)]).toEqual(["held", "held", "closed"]);
    expect([await refusedOn(carol), await refusedOn(carol)]).toEqual(["held", "closed"]);
    expect(limit.heldConnections).toBe(3);
    // Alice, within her allowance, is served on a connection of her own while three are held.
    const on = connection(url);
    send(on, alice, 5);
    expect(await on.answer()).toMatchObject({ status: 200 });
  });

  it("a connection that has carried another caller's requests (a balancer's pooled upstream) is never held: the next request on it, whoever's, is read at once", async () => {
    // Two tokens each, then one every 100 s: once empty, bob stays refused at the front.
    const { url, principal, limit } = await limitedFront({ capacity: 2, perSecond: 0.01, holdConnections: true });
    const [bob, alice] = [await principal("bob"), await principal("alice")];
    // One connection, as a balancer that pools its upstream connections uses it: alice's request, then bob's.
    const pooled = connection(url);
    const statuses = [];
    for (const [who, id] of [[alice, 2], [bob, 3], [bob, 4], [bob, 5], [bob, 6]] as const) {
      send(pooled, who, id);
      statuses.push((await pooled.answer()).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]); // his tokens, the pipeline's refusal, the front's
    expect(limit.heldConnections).toBe(0);
    // Alice's next request on it is read and answered, not left waiting for bob's next token.
    send(pooled, alice, 7);
    expect(await pooled.answer()).toMatchObject({ status: 200 });
    // Bob on a connection of his own is still held.
    const own = connection(url);
    send(own, bob, 8);
    expect((await own.answer()).status).toBe(429);
    expect(limit.heldConnections).toBe(1);
  });

  it("a flooding client cannot escape the hold by claiming to come through a proxy (Forwarded, X-Forwarded-For, Via): those headers are the client's to send", async () => {
    const { url, principal, limit } = await limitedFront({ capacity: 1, perSecond: 0.01, holdConnections: true });
    const bob = await principal("bob");
    await call(url, bob.token, bob.session, "read_notes", {}, 2);
    await call(url, bob.token, bob.session, "read_notes", {}, 3); // refused in the pipeline: the front knows him now
    let id = 10;
    for (const forwarded of [{ "x-forwarded-for": "203.0.113.7" }, { forwarded: "for=203.0.113.7" }, { via: "1.1 lb" }] as Record<string, string>[]) {
      const held = limit.heldConnections;
      const on = connection(url);
      on.post({ authorization: `Bearer ${bob.token}`, "mcp-session-id": bob.session, "mcp-protocol-version": "2025-06-18", ...forwarded }, { jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: "read_notes", arguments: {} } });
      expect((await on.answer()).status).toBe(429);
      expect(limit.heldConnections).toBe(held + 1);
    }
  });

  it("a held connection is read again after maxHoldMs at most, and the request waiting on it is answered", async () => {
    const { url, principal, limit } = await limitedFront({ capacity: 1, perSecond: 0.01, holdConnections: { maxHoldMs: 200 } });
    const bob = await principal("bob");
    await call(url, bob.token, bob.session, "read_notes", {}, 2);
    await call(url, bob.token, bob.session, "read_notes", {}, 3);
    const on = connection(url);
    send(on, bob, 4);
    expect((await on.answer()).status).toBe(429);
    send(on, bob, 5);
    expect((await on.answer()).status).toBe(429);
    expect(bob.reached()).toBe(4);
    expect(limit.heldConnections).toBe(1); // held again
  });

  it("a held connection its client closed is forgotten once its turn comes; the proxy's close closes the rest", async () => {
    const { url, principal, limit } = await limitedFront({ capacity: 1, perSecond: 5, holdConnections: { maxHoldMs: 60_000 } });
    const bob = await principal("bob");
    const gone = await heldConnection(url, bob, limit);
    gone.socket.end();
    await until(() => limit.heldConnections === 0, "the closed connection forgotten");
    // One held when the proxy closes: closed by it, and forgotten.
    const kept = await heldConnection(url, bob, limit);
    await front!.close();
    front = undefined;
    await until(() => kept.closed, "the held connection closed by the proxy");
    await until(() => limit.heldConnections === 0, "the held connection forgotten");
  });

  it("refuses bounds that could hold nothing", () => {
    expect(() => rateLimit({ capacity: 1, perSecond: 1, holdConnections: { perCaller: 0 } })).toThrow(/holdConnections.perCaller must be at least 1/);
    expect(() => rateLimit({ capacity: 1, perSecond: 1, holdConnections: { maxHoldMs: Number.NaN } })).toThrow(/holdConnections.maxHoldMs must be at least 1/);
  });

  it("the 2026-07-28 front holds the same way", async () => {
    const { url, principal, limit } = await limitedFront({ capacity: 1, perSecond: 0.01, holdConnections: true });
    const bob = await principal("bob");
    const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };
    const on = connection(url);
    const modern = (id: number) =>
      on.post({ authorization: `Bearer ${bob.token}`, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "read_notes" }, { jsonrpc: "2.0", id, method: "tools/call", params: { name: "read_notes", arguments: {}, _meta: meta } });
    const statuses = [];
    for (const id of [1, 2, 3]) {
      modern(id);
      statuses.push((await on.answer()).status);
    }
    expect(statuses).toEqual([200, 429, 429]); // the pipeline's, then the front's
    expect(limit.heldConnections).toBe(1);
  });
});
