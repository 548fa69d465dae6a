// Which backend sessions a 2026-07-28 call uses, on the proxy's real HTTP front (run()). A call whose
// client declared something it could be asked for (elicitation, sampling, roots) waits alone on a
// stdio backend session, so that a backend's ask is attributed to it without doubt; that session is kept
// for the next such call, so none is opened per call. Others use the shared session, as a list does.
import type { IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { FIXTURE } from "../helpers.js";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { post2026 } from "./harness.js";

const ASK_RACE = fileURLToPath(new URL("../fixtures/ask-race-server.mjs", import.meta.url));

describe("backend sessions of 2026 calls", () => {
  let proxy: FastMCPProxy;
  let url: string;
  beforeAll(async () => {
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"] }, { logLevel: "error" });
    url = (await proxy.run({ transport: "http", port: 0 })).url!;
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
  });

  const pidOf = async (capabilities: Record<string, unknown>) => {
    const answer = await post2026(url, "tools/call", { name: "whoami", arguments: {}, _meta: { "io.modelcontextprotocol/clientCapabilities": capabilities } });
    return (JSON.parse(answer.message.result.content[0].text) as { pid: number }).pid;
  };

  it("a client that declared no input capability is served on the shared session: the same child every time", async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 3; i++) pids.add(await pidOf({}));
    expect(pids.size).toBe(1);
  }, 30_000);

  it("calls that declared elicitation, one after another, reuse one backend session: no child per call", async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 3; i++) pids.add(await pidOf({ elicitation: {} }));
    expect(pids.size).toBe(1);
    expect(pids.has(await pidOf({}))).toBe(false); // not the shared session's child
  }, 30_000);

  it("concurrent calls that may be asked each wait alone on a backend session: every ask reaches its own caller", async () => {
    const ask = () => post2026(url, "tools/call", { name: "ask", arguments: { what: "elicitation" }, _meta: { "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } } });
    const answers = await Promise.all([ask(), ask(), ask()]);
    for (const answer of answers) expect(answer.message.result?.resultType, JSON.stringify(answer.message)).toBe("input_required");
    const states = new Set(answers.map((a) => a.message.result.requestState));
    expect(states.size).toBe(3);
  }, 30_000);

  it("at most 4 such calls run at once on one route: 8 at once are served by at most 4 backend sessions, the others waiting their turn", async () => {
    const pids = await Promise.all(Array.from({ length: 8 }, () => pidOf({ sampling: {} })));
    expect(pids.every((pid) => Number.isInteger(pid))).toBe(true);
    expect(new Set(pids).size).toBeLessThanOrEqual(4);
  }, 30_000);

  it("a call waiting for its client's input does not count: with 5 calls held for input, another call is still served at once", async () => {
    const capabilities = { "io.modelcontextprotocol/clientCapabilities": { roots: {} } };
    const held = await Promise.all(Array.from({ length: 5 }, () => post2026(url, "tools/call", { name: "ask", arguments: { what: "roots" }, _meta: capabilities })));
    for (const answer of held) expect(answer.message.result?.resultType, JSON.stringify(answer.message)).toBe("input_required");
    expect(Number.isInteger(await pidOf({ roots: {} }))).toBe(true);
  }, 30_000);

  it("the shared session still relays nothing it was not declared for: the backend's ask is refused, and so is the call", async () => {
    const answer = await post2026(url, "tools/call", { name: "ask", arguments: { what: "elicitation" }, _meta: { "io.modelcontextprotocol/clientCapabilities": {} } });
    expect(answer.status).toBe(200);
    expect(answer.message.result).toBeUndefined();
    expect(answer.message.error?.message).toMatch(/elicitation\/create .*did not declare the capability/);
  }, 30_000);
});

// A caller the proxy knows (a bearer token names it) has a backend session of its own: its calls that
// may be asked share it, as its legacy session's calls do. No stdio message says which of them an ask
// is for, so the oldest carries it: any of them may, they are the same caller's. Another caller's
// calls never wait on that session.
describe("2026 calls of one known caller", () => {
  let proxy: FastMCPProxy;
  let url: string;
  const authenticate = (req: IncomingMessage) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    return token ? { token, clientId: token, scopes: [], extra: { identity: `user:${token}` } } : undefined;
  };
  beforeAll(async () => {
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"] }, { logLevel: "error" });
    url = (await proxy.run({ transport: "http", port: 0, authenticate })).url!;
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
  });

  const asking = { "io.modelcontextprotocol/clientCapabilities": { elicitation: {}, roots: {} } };
  const as = (who: string) => ({ authorization: `Bearer ${who}` });
  const pidIn = (answer: { message: { result?: any } }) => (JSON.parse(answer.message.result.content[0].text) as { pid: number }).pid;

  /** Calls `name` as `who` and answers every round of input until it ends (at most 5 rounds). */
  async function callThrough(who: string, name: string, args: object, answerFor: (method: string) => object) {
    let answer = await post2026(url, "tools/call", { name, arguments: args, _meta: asking }, as(who));
    for (let round = 0; round < 5 && answer.message.result?.resultType === "input_required"; round++) {
      const requests = answer.message.result.inputRequests as Record<string, { method: string }>;
      const inputResponses = Object.fromEntries(Object.entries(requests).map(([key, request]) => [key, answerFor(request.method)]));
      answer = await post2026(url, "tools/call", { name, arguments: args, inputResponses, requestState: answer.message.result.requestState, _meta: asking }, as(who));
    }
    return answer;
  }

  it("calls that may be asked, sent at once, share the caller's one backend session: one child, not one per call", async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => post2026(url, "tools/call", { name: "whoami", arguments: {}, _meta: asking }, as("alice"))));
    expect(new Set(answers.map(pidIn)).size).toBe(1);
  }, 30_000);

  it("every ask of such calls reaches their caller, and each call ends with its own result", async () => {
    const answerFor = (method: string) => (method === "roots/list" ? { roots: [{ uri: "file:///alice", name: "alice" }] } : { action: "accept", content: { name: "Alice" } });
    const ends = await Promise.all([
      callThrough("alice", "ask", { what: "elicitation" }, answerFor),
      callThrough("alice", "ask", { what: "roots" }, answerFor),
      callThrough("alice", "whoami", {}, answerFor),
      callThrough("alice", "ask", { what: "elicitation" }, answerFor),
    ]);
    const texts = ends.map((end) => end.message.result?.content?.[0]?.text as string);
    // The last answers whole, should one be wrong (seen once in CI, not reproduced in 450 runs since).
    const why = JSON.stringify(ends.map((end) => end.message)).slice(0, 4000);
    expect(texts[0], why).toContain("Alice");
    expect(texts[1], why).toContain("file:///alice");
    expect(JSON.parse(texts[2]!), why).toHaveProperty("pid");
    expect(texts[3], why).toContain("Alice");
  }, 30_000);

  it("another caller's calls never wait on that session: bob is not asked alice's questions and runs on a child of his own", async () => {
    const alice = Promise.all([
      post2026(url, "tools/call", { name: "ask", arguments: { what: "elicitation" }, _meta: asking }, as("alice")),
      post2026(url, "tools/call", { name: "whoami", arguments: {}, _meta: asking }, as("alice")),
    ]);
    const bob = await Promise.all(Array.from({ length: 3 }, () => post2026(url, "tools/call", { name: "whoami", arguments: {}, _meta: asking }, as("bob"))));
    for (const answer of bob) expect(answer.message.result?.resultType, JSON.stringify(answer.message)).not.toBe("input_required");
    const [asked, aliceWhoami] = await alice;
    expect(asked.message.result?.resultType).toBe("input_required");
    expect(new Set(bob.map(pidIn)).size).toBe(1);
    expect(bob.map(pidIn)).not.toContain(pidIn(aliceWhoami));
  }, 30_000);

  it("an anonymous caller's calls that may be asked still wait alone: nothing ties one to another", async () => {
    const answers = await Promise.all(Array.from({ length: 3 }, () => post2026(url, "tools/call", { name: "ask", arguments: { what: "roots" }, _meta: asking })));
    for (const answer of answers) expect(answer.message.result?.resultType, JSON.stringify(answer.message)).toBe("input_required");
    expect(new Set(answers.map((answer) => answer.message.result.requestState)).size).toBe(3);
  }, 30_000);
});

// askingSessions bounds the children such calls take: with 1, calls that may be asked take turns on one.
describe("askingSessions", () => {
  let proxy: FastMCPProxy;
  let url: string;
  beforeAll(async () => {
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"] }, { logLevel: "error", askingSessions: 1 });
    url = (await proxy.run({ transport: "http", port: 0 })).url!;
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
  });

  it("with askingSessions: 1, six calls that may be asked, sent at once, are all served by one backend session in turn", async () => {
    const whoami = () => post2026(url, "tools/call", { name: "whoami", arguments: {}, _meta: { "io.modelcontextprotocol/clientCapabilities": { sampling: {} } } });
    const answers = await Promise.all(Array.from({ length: 6 }, whoami));
    const pids = answers.map((answer) => (JSON.parse(answer.message.result.content[0].text) as { pid: number }).pid);
    expect(pids.every((pid) => Number.isInteger(pid))).toBe(true);
    expect(new Set(pids).size).toBe(1);
  }, 30_000);

  it("is checked: 0 is a configuration error that names the option", () => {
    expect(() => FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"] }, { askingSessions: 0 })).toThrow(/askingSessions must be a whole number ≥ 1/);
  });
});

// On an HTTP backend an ask comes on the stream of the request it belongs to: calls that may be asked
// share one backend session, and each ask still reaches its own caller.
describe("backend sessions of 2026 calls to an HTTP backend", () => {
  let shim: Awaited<ReturnType<typeof startDualEraServer>>;
  let proxy: FastMCPProxy;
  let url: string;
  beforeAll(async () => {
    shim = await startDualEraServer({ legacy: "shim" });
    proxy = FastMCPProxy.asProxy(shim.url, { logLevel: "error" });
    url = (await proxy.run({ transport: "http", port: 0 })).url!;
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await shim?.close();
  });

  it("concurrent calls that may be asked share the backend session, and each is asked its own question", async () => {
    const call = { name: "test_input_required_result_elicitation", arguments: {} };
    await post2026(url, "tools/list"); // the session of this profile is open
    const before = shim.initializes;
    const names = ["Ann", "Bob", "Cy", "Di"];
    const firsts = await Promise.all(names.map(() => post2026(url, "tools/call", call)));
    for (const first of firsts) expect(first.message.result?.resultType, JSON.stringify(first.message)).toBe("input_required");
    const finals = await Promise.all(
      firsts.map((first, i) => {
        const key = Object.keys(first.message.result.inputRequests)[0]!;
        return post2026(url, "tools/call", { ...call, inputResponses: { [key]: { action: "accept", content: { name: names[i] } } }, requestState: first.message.result.requestState });
      }),
    );
    expect(finals.map((f) => f.message.result?.content?.[0]?.text)).toEqual(names.map((name) => `Hello, ${name}!`));
    expect(shim.initializes - before).toBe(0); // no backend session opened for them
  }, 30_000);
});

describe("an ask in the same read as another call's answer", () => {
  let proxy: FastMCPProxy;
  let url: string;
  beforeAll(async () => {
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [ASK_RACE, "stdio"] }, { logLevel: "error" });
    const authenticate = (req: IncomingMessage) => (req.headers.authorization ? { token: "alice", clientId: "alice", scopes: [], extra: { identity: "user:alice" } } : undefined);
    url = (await proxy.run({ transport: "http", port: 0, authenticate })).url!;
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
  });

  const asking = { "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } };
  const alice = { authorization: "Bearer alice" };
  it.each([
    ["goes to a call still waiting, not to the one just answered", "plain"],
    ["given to a call that then ends before carrying it, goes on to one still waiting", "plain-after"],
  ])("an ask %s (a known caller's 2026 calls share a stdio session)", async (_, plainTool) => {
    // "plain" is the older call: an ask that no message ties to a call goes to the oldest still waiting.
    const plain = post2026(url, "tools/call", { name: plainTool, arguments: {}, _meta: asking }, alice);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const asked = post2026(url, "tools/call", { name: "ask", arguments: {}, _meta: asking }, alice);
    expect((await plain).message.result).toMatchObject({ content: [{ text: "plain done" }] });
    let answer = await asked;
    expect(answer.message.result, JSON.stringify(answer.message)).toMatchObject({ resultType: "input_required" });
    const [key] = Object.keys(answer.message.result.inputRequests);
    answer = await post2026(url, "tools/call", { name: "ask", arguments: {}, inputResponses: { [key!]: { action: "accept", content: { name: "Alice" } } }, requestState: answer.message.result.requestState, _meta: asking }, alice);
    expect(answer.message.result.content[0].text).toBe('asked: {"name":"Alice"}');
  }, 30_000);
});
