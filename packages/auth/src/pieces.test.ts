import { Socket } from "node:net";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { anyOf, apiKeys } from "./api-keys.js";
import { formatChallenge } from "./challenge.js";
import { InvalidTokenError, VerifierUnavailableError } from "./errors.js";
import { sha256 } from "./hash.js";
import { HeldConnections } from "./held-connections.js";
import { canonicalResource, resourceMetadata, resourceMetadataUrl } from "./metadata.js";
import { expandScopes, scopesFromClaims, unionScope } from "./scopes.js";
import { TokenCache } from "./token-cache.js";

const context = { resource: "https://mcp.example.com/mcp" };

describe("challenges", () => {
  it("formats RFC 6750 parameters, escaping quotes and dropping control characters", () => {
    expect(formatChallenge({})).toBe("Bearer");
    expect(formatChallenge({ resourceMetadata: "https://x/.well-known/oauth-protected-resource", scope: ["a", "b"] })).toBe(
      'Bearer scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource"',
    );
    expect(formatChallenge({ error: "invalid_token", description: 'bad "x"\r\nSet-Cookie: y' })).toBe('Bearer error="invalid_token", error_description="bad \\"x\\"Set-Cookie: y"');
  });
});

describe("metadata", () => {
  it("inserts the well-known path before the resource's path (RFC 9728 §3.1)", () => {
    expect(resourceMetadataUrl("https://a.example/mcp")).toBe("https://a.example/.well-known/oauth-protected-resource/mcp");
    expect(resourceMetadataUrl("https://a.example")).toBe("https://a.example/.well-known/oauth-protected-resource");
  });

  it("canonicalizes the resource: no fragment, lowercase host, no trailing slash; refuses non-URLs", () => {
    expect(canonicalResource("HTTPS://MCP.Example.com/mcp/#x")).toBe("https://mcp.example.com/mcp");
    expect(canonicalResource("https://mcp.example.com/")).toBe("https://mcp.example.com");
    expect(() => canonicalResource("/mcp")).toThrow(/not an absolute URL/);
    expect(() => canonicalResource("ftp://x/y")).toThrow(/http/);
  });

  it("advertises the header method only, and never offline_access", () => {
    expect(resourceMetadata({ resource: "https://a/mcp", authorizationServers: ["https://as"], scopesSupported: ["r", "offline_access"] })).toEqual({
      resource: "https://a/mcp",
      authorization_servers: ["https://as"],
      scopes_supported: ["r"],
      bearer_methods_supported: ["header"],
    });
  });
});

describe("scopes and globs", () => {
  it("expands implications transitively, and survives cycles", () => {
    expect([...expandScopes(["admin"], { admin: ["write"], write: ["read", "admin"] })].sort()).toEqual(["admin", "read", "write"]);
    expect(scopesFromClaims({ scope: "a  b" })).toEqual(["a", "b"]);
    expect(scopesFromClaims({ scp: ["a", 1, "c"] })).toEqual(["a", "c"]);
    expect(scopesFromClaims({})).toEqual([]);
    // SEP-2350: a new authorization asks for what was granted and what is challenged, each once.
    expect(unionScope("mcp:basic mcp:read", "mcp:write mcp:basic")).toBe("mcp:basic mcp:read mcp:write");
    expect(unionScope(undefined, null, "")).toBeUndefined();
  });
});

describe("API keys", () => {
  const verify = apiKeys([{ key: "k-alice", subject: "alice", scopes: ["read"] }, { sha256: sha256("k-bob"), subject: "bob" }]);

  it("accepts known keys, plain or given as their hash", async () => {
    expect(await verify("k-alice", context)).toMatchObject({ subject: "alice", scopes: ["read"] });
    expect(await verify("k-bob", context)).toMatchObject({ subject: "bob", scopes: [] });
  });

  it("refuses unknown keys and bad configuration", async () => {
    await expect(verify("k-carol", context)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(() => apiKeys([{ subject: "x" }])).toThrow(/needs a non-empty key/);
    expect(() => apiKeys([{ sha256: "abc", subject: "x" }])).toThrow(/SHA-256/);
    expect(() => apiKeys([])).toThrow(/no keys/);
  });

  it("anyOf: the first acceptance wins, and unavailable wins over invalid", async () => {
    const down = async () => {
      throw new VerifierUnavailableError("down");
    };
    expect(await anyOf(down, verify)("k-bob", context)).toMatchObject({ subject: "bob" });
    await expect(anyOf(verify, down)("nope", context)).rejects.toBeInstanceOf(VerifierUnavailableError);
    await expect(anyOf(verify, verify)("nope", context)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});

describe("TokenCache", () => {
  it("keeps an entry until the token expires and at most its TTL, dropping the least recently used", () => {
    const cache = new TokenCache<string>(2, 60_000);
    const now = 1_000_000;
    cache.set("a", "A", (now + 10_000) / 1000, undefined, now);
    expect(cache.get("a", now + 9_999)).toBe("A");
    expect(cache.get("a", now + 10_000)).toBeUndefined();
    cache.set("b", "B", undefined, undefined, now);
    expect(cache.get("b", now + 59_999)).toBe("B");
    expect(cache.get("b", now + 60_000)).toBeUndefined();
    cache.set("c", "C", undefined, 1000, now);
    expect(cache.get("c", now + 1000)).toBeUndefined();
    for (const k of ["x", "y", "z"]) cache.set(k, k, undefined, undefined, now);
    expect(cache.size).toBe(2);
    expect(cache.get("x", now)).toBeUndefined();
  });

  it("keeps what is used: a hit moves an entry back among the recent ones; the others go, the oldest first", () => {
    const cache = new TokenCache<string>(4, 60_000);
    const now = 1_000_000;
    for (const k of ["a", "b", "c", "d"]) cache.set(k, k, undefined, undefined, now);
    expect(cache.get("a", now)).toBe("a"); // used: kept past the next insertions
    for (const k of ["e", "f"]) cache.set(k, k, undefined, undefined, now);
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.get("a", now)).toBe("a");
    expect(cache.get("b", now)).toBeUndefined();
    expect(cache.get("c", now)).toBeUndefined();
    expect(cache.get("f", now)).toBe("f");
    // Never more than maxEntries, however many tokens come.
    for (let i = 0; i < 1000; i++) cache.set(`t${i}`, "t", undefined, undefined, now);
    expect(cache.size).toBeLessThanOrEqual(4);
    const one = new TokenCache<string>(1);
    for (const k of ["a", "b", "c"]) one.set(k, k, undefined);
    expect(one.size).toBe(1);
    expect(one.get("c")).toBe("c");
  });

  it("a hit changes nothing in its tables: 60,000 hits leave nothing alive for the scavenger to copy", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
    const used = (name: string) => getHeapSpaceStatistics().find((space) => space.space_name === name)!.space_used_size;
    const cache = new TokenCache<object>();
    cache.set("alice", { principal: "alice" }, undefined);
    cache.set("bob", { principal: "bob" }, undefined);
    const hits = () => {
      for (let i = 0; i < 60_000; i++) cache.get(i % 2 ? "alice" : "bob");
    };
    hits();
    gc();
    const before = used("old_space");
    hits();
    gc({ type: "minor" });
    gc({ type: "minor" });
    // A delete and a set per hit made a new hash table every few hits, each kept alive by the last: about 3 MB here.
    expect(used("old_space") - before + used("new_space")).toBeLessThan(500_000);
  });

  it("stores nothing already expired, nor with no room", () => {
    const cache = new TokenCache<string>(0);
    cache.set("a", "A", undefined);
    expect(cache.size).toBe(0);
    const c2 = new TokenCache<string>();
    c2.set("b", "B", Date.now() / 1000 - 1);
    expect(c2.size).toBe(0);
  });
});

describe("HeldConnections", () => {
  const stall = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until);
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** `count` sockets of bob's held from now, a turn every 20 ms, and how many of them were resumed. */
  function holdMany(held: HeldConnections, count: number) {
    const resumed: number[] = [];
    const sockets = Array.from({ length: count }, () => new Socket());
    sockets.forEach((socket, i) => held.hold("bob", socket, () => resumed.push(i), Date.now() + 20));
    return { sockets, resumed };
  }

  it("a timer late by many turns resumes at most the bucket's capacity at once, each on its turn", async () => {
    const held = new HeldConnections(20, 2, { tickMs: 0 });
    const { sockets, resumed } = holdMany(held, 6);
    stall(130); // six turns late: the bucket filled to its 2
    await sleep(5);
    expect(resumed).toEqual([0, 1]);
    expect(sockets.map((socket) => held.onTurn(socket, "bob"))).toEqual([true, true, false, false, false, false]);
    expect(held.onTurn(sockets[0]!, "bob")).toBe(false); // once per turn
    await sleep(30);
    expect(resumed).toEqual([0, 1, 2]);
    expect(held.onTurn(sockets[2]!, "carol")).toBe(false); // the turn was bob's
  });

  it("a bucket found empty holds the turns back: none comes before it says", async () => {
    const held = new HeldConnections(100, 100, { tickMs: 0 });
    const resumed: number[] = [];
    for (const i of [0, 1]) held.hold("bob", new Socket(), () => resumed.push(i), Date.now() + 20);
    held.notBefore("bob", Date.now() + 200); // then 300, 400
    await sleep(150);
    expect(resumed).toEqual([]);
    await sleep(100);
    expect(resumed).toEqual([0]);
  });

  it("resumes the turns that came due together, on a tick: one wake of the process for several", async () => {
    const held = new HeldConnections(20, 100, { tickMs: 200 });
    await sleep(200 - (Date.now() % 200) + 5); // just past a tick: the next is about 195 ms away
    const at: number[] = [];
    for (let i = 0; i < 3; i++) held.hold("bob", new Socket(), () => at.push(Date.now()), Date.now() + 1);
    const tick = Math.ceil((Date.now() + 1) / 200) * 200;
    await sleep(tick + 60 - Date.now());
    expect(at).toHaveLength(3); // due at +1, +21, +41: all by the tick
    expect(Math.min(...at)).toBeGreaterThanOrEqual(tick - 2); // a timer may fire a ms before Date.now() says
    expect(Math.max(...at) - Math.min(...at)).toBeLessThan(5);
  });

  it("holds only a caller's own connection: one that has carried another caller's requests, or an anonymous one, is no one's from then on", () => {
    const held = new HeldConnections(20, 2);
    const [own, pooled, anonymousFirst] = [new Socket(), new Socket(), new Socket()];
    expect([held.carries(own, "bob"), held.carries(own, "bob")]).toEqual([true, true]);
    expect([held.carries(pooled, "alice"), held.carries(pooled, "bob"), held.carries(pooled, "alice"), held.carries(pooled, "bob")]).toEqual([true, false, false, false]);
    expect([held.carries(anonymousFirst, undefined), held.carries(anonymousFirst, "bob")]).toEqual([false, false]);
    expect(held.carries(own, undefined)).toBe(false);
    expect(held.carries(own, "bob")).toBe(false);
  });

  it("by default ticks once a token, at most 10 ms: a principal's turns come one a tick, spread as his allowance brings them", () => {
    expect(new HeldConnections(2, 500).tickMs).toBe(2); // 500/s: a burst of five a tick let others wait behind it
    expect(new HeldConnections(0.5, 500).tickMs).toBe(0.5);
    expect(new HeldConnections(50, 500).tickMs).toBe(10);
    expect(new HeldConnections(2, 500, { tickMs: 10 }).tickMs).toBe(10);
    expect(new HeldConnections(20, 2, { tickMs: 1000 }).tickMs).toBe(40);
  });

  it("never waits for a tick longer than the bucket takes to fill: no token lost", async () => {
    // capacity 2 at a turn every 20 ms fills in 40 ms: ticks of 40, not 1,000
    const held = new HeldConnections(20, 2, { tickMs: 1000 });
    const at: number[] = [];
    const start = Date.now();
    for (let i = 0; i < 2; i++) held.hold("bob", new Socket(), () => at.push(Date.now() - start), start + 1);
    await sleep(150);
    expect(at).toHaveLength(2);
    expect(Math.max(...at)).toBeLessThan(100);
    expect(() => new HeldConnections(20, 2, { tickMs: -1 })).toThrow(/tickMs must be 0 or more/);
  });
});
