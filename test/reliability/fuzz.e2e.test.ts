// Seeded random input at the built command's fronts: JSON-RPC lines of every method with params of
// every wrong shape on stdio, hostile raw requests on streamable HTTP, and a hostile backend. The
// process stays up, every request with an id of its own is answered exactly once with a well-formed
// reply, and a real client is served afterwards. The seed is fixed, so a failure reproduces; FUZZ_SEED=n
// runs it with another.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, SERVING_HTTP, SERVING_STDIO, startCli, stopAll } from "../cli/process.js";
import { until } from "../helpers.js";
import { startHostileHttpServer } from "./fixtures/hostile-http-server.mjs";
import { seeded } from "./fixtures/seeded.mjs";

afterEach(stopAll);

const METHODS = [
  "tools/call", "tools/list", "resources/read", "resources/list", "resources/templates/list", "resources/subscribe", "resources/unsubscribe",
  "prompts/get", "prompts/list", "completion/complete", "logging/setLevel", "ping", "tasks/get", "tasks/result", "tasks/cancel", "tasks/list",
  "initialize", "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed", "x/unknown", "", "tools/call\u0000",
];
const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const HOSTILE = fileURLToPath(new URL("./fixtures/hostile-server.mjs", import.meta.url));
// The fixture's tools that answer on their own ("ask" would wait for the client, "crash" ends the backend).
const TOOLS = ["echo", "fail", "explode", "whoami", "slow", "nope"];

describe("fuzzing the command's fronts", () => {
  it("stdio: 3,000 seeded messages of every method with params of every shape; each request answered once, well formed; then a ping", async () => {
    const random = seeded(SEED);
    const value = (depth = 0): unknown => {
      const kind = random.int(depth > 2 ? 9 : 12);
      if (kind === 0) return null;
      if (kind === 1) return random.pick([0, -1, 1e308, 2 ** 53 + 1, Number.MIN_VALUE]);
      if (kind === 2) return "x".repeat(random.int(3000));
      if (kind === 3) return random.pick(TOOLS);
      if (kind === 4) return random.pick(["fixture://static/hello", "fixture://items/1", "fixture://items/../x", "file:///etc/passwd", "\u0000"]);
      if (kind === 5) return random.next() < 0.5;
      if (kind === 6) return { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } };
      if (kind === 7) return { text: "hi", ms: random.int(30) };
      if (kind === 8) return "debug";
      if (kind === 9) return [value(depth + 1), value(depth + 1)];
      return { name: value(depth + 1), arguments: value(depth + 1), uri: value(depth + 1), _meta: { progressToken: value(depth + 1) } };
    };
    const params = () =>
      random.next() < 0.6
        ? { name: value(), arguments: value(), uri: value(), level: value(), ref: value(), argument: value(), taskId: value(), requestId: value(), cursor: value(), _meta: { progressToken: value() } }
        : value();
    const cli = startCli(["--log-level", "error", "--", ...FIXTURE_STDIO]);
    await cli.waitForStderr(SERVING_STDIO);
    const write = (line: string) => cli.child.stdin.write(`${line}\n`);
    write(JSON.stringify({ jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } } }));
    write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    // Every id sent, and those of well-formed requests, which must be answered with their id exactly once.
    const sent = new Set<string>(['"init"', '"final"']);
    const ids = new Set<string>();
    let nextId = 1;
    for (let i = 0; i < 3000; i++) {
      const shape = random.int(20);
      if (shape === 0) write("{".repeat(random.int(300)));
      else if (shape === 1) write(JSON.stringify([{ jsonrpc: "2.0", id: `b${i}`, method: "ping" }])); // a batch: refused, id null
      else if (shape === 2) write(JSON.stringify({ jsonrpc: "2.0", id: { not: "an id" }, method: "ping" }));
      else if (shape === 3) write(JSON.stringify({ jsonrpc: "2.0", id: 424242, result: value() })); // an answer to nothing asked
      else {
        const message: Record<string, unknown> = { jsonrpc: random.next() < 0.95 ? "2.0" : "1.0", method: random.pick(METHODS) };
        if (random.next() < 0.85) {
          const id = random.next() < 0.2 ? `s${nextId++}` : nextId++;
          message.id = id;
          sent.add(JSON.stringify(id));
          // Only well-formed requests need an answer with their id; the rest may be answered with id null.
          if (message.jsonrpc === "2.0" && typeof message.method === "string" && !(message.method as string).startsWith("notifications/")) ids.add(JSON.stringify(id));
        }
        if (random.next() < 0.9) message.params = params();
        write(JSON.stringify(message));
      }
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    write(JSON.stringify({ jsonrpc: "2.0", id: "final", method: "ping" }));
    const answers = () => cli.messages();
    await until(() => answers().some((a) => a.id === "final"), "the final ping answered", 60_000);
    await until(() => answers().filter((a) => ids.has(JSON.stringify(a.id))).length >= ids.size, "an answer to every request", 10_000).catch(() => {});
    const counts = new Map<string, number>();
    // Notifications come too (the backend's log lines); a request to this client, which declared nothing, never does.
    const messages = answers();
    expect(messages.filter((m) => "method" in m && "id" in m)).toEqual([]);
    // Every message would be taken by the client's SDK (an error about no request in particular has id null, as JSON-RPC says).
    expect(messages.filter((m) => m.id !== null && !JSONRPCMessageSchema.safeParse(m).success).slice(0, 3)).toEqual([]);
    for (const answer of messages.filter((m) => !("method" in m))) {
      expect(answer.jsonrpc).toBe("2.0");
      expect(("result" in answer) !== ("error" in answer)).toBe(true);
      if ("error" in answer) {
        expect(Number.isInteger(answer.error.code)).toBe(true);
        expect(typeof answer.error.message).toBe("string");
      }
      if (answer.id !== null) counts.set(JSON.stringify(answer.id), (counts.get(JSON.stringify(answer.id)) ?? 0) + 1);
    }
    expect([...ids].filter((id) => counts.get(id) !== 1).slice(0, 5)).toEqual([]);
    expect([...counts].filter(([id, n]) => !sent.has(id) || n > 1).slice(0, 5)).toEqual([]);
    cli.child.stdin.end();
    expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
  }, 120_000);

  it("a hostile stdio backend (no answers, two, wrong shapes and ids, foreign progress, asks of its own): 200 calls at c=8 each answered once; no undeclared ask or foreign progress reaches the client", async () => {
    await callsThroughHostile(["-e", `SEED=${SEED}`, "--", process.execPath, HOSTILE], 200);
  }, 120_000);

  it("a hostile streamable HTTP backend (no answers, 404 and 500, wrong content types, broken and endless streams, foreign progress): 150 calls at c=8 each answered once, the same way", async () => {
    const backend = await startHostileHttpServer(SEED);
    try {
      await callsThroughHostile([backend.url], 150);
    } finally {
      await backend.close();
    }
  }, 120_000);

  it("a gateway of a good backend and a hostile one: every call to the good one succeeds, whatever the hostile one does beside it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fuzz-gateway-"));
    const config = join(dir, "gateway.json");
    writeFileSync(config, JSON.stringify({ mcpServers: { good: { command: FIXTURE_STDIO[0], args: FIXTURE_STDIO.slice(1) }, bad: { command: process.execPath, args: [HOSTILE], env: { SEED: String(SEED) } } } }));
    try {
      const cli = startCli([config, "--log-level", "error", "--timeout", "500"]);
      await cli.waitForStderr(SERVING_STDIO);
      const write = (message: unknown) => cli.child.stdin.write(`${JSON.stringify(message)}\n`);
      const answered = () => new Set(cli.messages().filter((m) => !("method" in m)).map((m) => m.id)).size;
      write({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } } });
      write({ jsonrpc: "2.0", method: "notifications/initialized" });
      const calls = 200;
      for (let id = 1; id <= calls; id++) {
        write({ jsonrpc: "2.0", id, method: "tools/call", params: { name: id % 2 ? "bad_echo" : "good_echo", arguments: { text: `call ${id}` }, ...(id % 3 === 0 && { _meta: { progressToken: `client-${id}` } }) } });
        await until(() => id - (answered() - 1) <= 8, "at most 8 calls waiting", 10_000);
      }
      await until(() => answered() === calls + 1, "every call answered", 15_000);
      const answers = new Map(cli.messages().filter((m) => !("method" in m)).map((m) => [m.id, m]));
      const good = Array.from({ length: calls / 2 }, (_, i) => 2 * (i + 1));
      expect(good.filter((id) => answers.get(id)?.result?.content?.[0]?.text !== `call ${id}`)).toEqual([]);
      const tokens = cli.messages().filter((m) => m.method === "notifications/progress").map((m) => m.params.progressToken);
      expect(tokens.filter((token) => !/^client-\d+$/.test(String(token)))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("streamable HTTP: 600 seeded hostile requests (methods, paths, hosts, lengths, bodies, cut connections); each is answered or closed, and a client is served after", async () => {
    const random = seeded(SEED + 1);
    const cli = startCli(["--transport", "http", "--port", "0", "--log-level", "error", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const { port, host } = new URL(url!);
    const body = () =>
      random.pick([
        () => JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: random.pick(["2025-06-18", "2026-07-28", "1999", 5]), capabilities: {}, clientInfo: { name: "f", version: "1" } } }),
        () => JSON.stringify({ jsonrpc: "2.0", id: random.int(1e6), method: random.pick(["tools/call", "tools/list", "ping", "resources/read"]), params: { name: random.pick(TOOLS), arguments: { text: "x" }, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": random.pick([{}, null, 5, { elicitation: { url: {} } }]) } } }),
        () => "[".repeat(random.int(3000)),
        () => JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" }, { jsonrpc: "2.0", id: 1, method: "ping" }]),
        () => "x".repeat(random.int(200_000)),
        () => "",
        () => "\u0000\uffff{",
      ])();
    /** One raw request; "answered", "closed", or "hung" when neither came within 5 s. */
    const one = () =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), host.split(":")[0] === "[::1]" ? "::1" : "127.0.0.1");
        let answered = false;
        socket.on("error", () => {});
        socket.setTimeout(5000, () => (socket.destroy(), resolve("hung")));
        socket.on("data", () => (answered = true));
        socket.on("close", () => resolve(answered ? "answered" : "closed"));
        const text = body();
        const length = random.pick([Buffer.byteLength(text), Buffer.byteLength(text) + random.int(100), 0, "-1", "abc", "1000000000000"]);
        const head = [
          `${random.pick(["POST", "GET", "DELETE", "PUT", "OPTIONS", "PATCH"])} ${random.pick(["/mcp", "/sse", `/messages?sessionId=${"a".repeat(random.int(100))}`, "/healthz", "/readyz", "/metrics", "/../etc/passwd", `/mcp?${"q".repeat(random.int(9000))}`])} HTTP/1.1`,
          `host: ${random.pick([host, "evil.example", "localhost"])}`,
          random.pick(["content-type: application/json", "content-type: text/plain", ""]),
          random.pick(["accept: application/json, text/event-stream", "accept: text/event-stream", ""]),
          random.pick([`mcp-session-id: ${"z".repeat(random.int(400))}`, "", `mcp-protocol-version: ${random.pick(["2025-06-18", "2026-07-28", "x"])}`]),
          random.pick(["origin: http://evil.example", "", "transfer-encoding: chunked"]),
          random.pick(["mcp-method: tools/call", "mcp-name: echo", `last-event-id: ${"1".repeat(random.int(300))}`, ""]),
          `content-length: ${length}`,
        ].filter(Boolean);
        socket.write(`${head.join("\r\n")}\r\n\r\n${text}`);
        const cut = random.next() < 0.3;
        const after = random.int(cut ? 30 : 80);
        setTimeout(() => (cut ? socket.destroy() : socket.end()), after);
        if (cut) setTimeout(() => resolve("cut"), after + 1);
      });
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 100; round++) {
      for (const outcome of await Promise.all(Array.from({ length: 6 }, one))) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    expect(outcomes.hung ?? 0).toBe(0);
    expect(outcomes.answered).toBeGreaterThan(100);
    // A real client, afterwards.
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
    const init = await fetch(url!, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "after", version: "1" } } }) });
    await init.text();
    const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")! };
    await (await fetch(url!, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).text();
    const echoed = await fetch(url!, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "still serving" } } }) });
    expect(echoed.status).toBe(200);
    expect(await echoed.text()).toContain("still serving");
  }, 120_000);
});

/**
 * `calls` tools/call through the command on stdio (`backendArgs` name its backend) at c=8, every third
 * asking for progress under a token of its own; then a ping. Each call must be answered exactly once,
 * every message must pass the SDK's own schema (a result it would drop leaves a call waiting for
 * ever), no ask the client did not declare may reach it, and progress only under its own tokens.
 */
async function callsThroughHostile(backendArgs: string[], calls: number): Promise<void> {
  const cli = startCli(["--log-level", "error", "--timeout", "500", ...backendArgs]);
  await cli.waitForStderr(SERVING_STDIO);
  const write = (message: unknown) => cli.child.stdin.write(`${JSON.stringify(message)}\n`);
  const answered = () => new Set(cli.messages().filter((m) => !("method" in m)).map((m) => m.id)).size;
  write({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } } });
  write({ jsonrpc: "2.0", method: "notifications/initialized" });
  for (let id = 1; id <= calls; id++) {
    write({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text: `call ${id}` }, ...(id % 3 === 0 && { _meta: { progressToken: `client-${id}` } }) } });
    await until(() => id - (answered() - 1) <= 8, "at most 8 calls waiting", 10_000);
  }
  await until(() => answered() === calls + 1, "every call answered", 15_000);
  write({ jsonrpc: "2.0", id: "final", method: "ping" }); // the proxy pings the backend: a result, or an error if it misbehaves
  await until(() => cli.messages().some((m) => m.id === "final"), "the ping answered", 10_000);
  const all = cli.messages();
  expect(all.filter((m) => !JSONRPCMessageSchema.safeParse(m).success).slice(0, 3)).toEqual([]);
  const answers = all.filter((m) => !("method" in m));
  for (let id = 1; id <= calls; id++) expect(answers.filter((m) => m.id === id)).toHaveLength(1);
  expect(answers.map((m) => m.id).filter((id) => id !== 0 && id !== "final" && !(id >= 1 && id <= calls))).toEqual([]);
  // The client declared nothing: the backend's asks never reach it; a method the protocol does not
  // define is passed on for the client to answer.
  expect(all.filter((m) => "id" in m && ["sampling/createMessage", "elicitation/create", "roots/list"].includes(m.method))).toEqual([]);
  const tokens = all.filter((m) => m.method === "notifications/progress").map((m) => m.params.progressToken);
  expect(tokens.filter((token) => !/^client-\d+$/.test(String(token)))).toEqual([]);
  cli.child.stdin.end();
  expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
}
