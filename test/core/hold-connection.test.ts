// HttpError.hold (docs/extension-points.md, "Holding a refused connection"): after a refusal from the
// front's authenticate, the keep-alive connection is not read until its holder resumes it; what the
// client sent meanwhile is then served in order. Real HTTP on 127.0.0.1, the proxy's own handler.
import http from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Socket } from "node:net";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, HttpError, type Authenticate } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { until } from "../helpers.js";
import { RawConnection } from "../raw-connection.js";

/** A token "hold" is refused and its connection held (or closed, for "close"); any other token is its caller. */
function holdingFront() {
  const held: Array<{ socket: Socket; resume: () => void }> = [];
  let judged = 0;
  const authenticate = (req: http.IncomingMessage): AuthInfo => {
    judged++;
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (token === "hold" || token === "close") {
      throw new HttpError(429, "slow down", { "retry-after": "1" }, { hold: (socket, resume) => token === "hold" && held.push({ socket, resume }) > 0 });
    }
    return { token, clientId: token, scopes: [], extra: { identity: token } };
  };
  return { authenticate, held, judged: () => judged };
}

let server: http.Server | undefined;
let proxy: FastMCPProxy | undefined;
const clients: RawConnection[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await proxy?.close();
  server = proxy = undefined;
});

/** The proxy's handler (stateless) on a server of our own with this keep-alive timeout; a raw connection to it. */
async function listen(authenticate: Authenticate, keepAliveTimeout: number): Promise<RawConnection & { echo(token: string, id: number): void }> {
  proxy = FastMCPProxy.asProxy(createFixtureServer());
  server = http.createServer(proxy.httpHandler({ stateless: true, authenticate }));
  server.keepAliveTimeout = keepAliveTimeout;
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const connection = new RawConnection(`http://127.0.0.1:${(server.address() as { port: number }).port}/mcp`);
  clients.push(connection);
  return Object.assign(connection, { echo: (token: string, id: number) => connection.post({ authorization: `Bearer ${token}`, "mcp-protocol-version": "2025-06-18" }, echoCall(id)) });
}

const echoCall = (id: number) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text: `call ${id}` } } });

describe("holding a refused connection (HttpError.hold)", () => {
  it("reads nothing more from it until resumed, past the keep-alive timeout; then serves what came meanwhile, in order", async () => {
    const front = holdingFront();
    // Node closes an idle connection 1 s after the keep-alive timeout: 1,001 ms here.
    const connection = await listen(front.authenticate, 1);
    connection.echo("hold", 1);
    const refused = await connection.answer();
    expect(refused.status).toBe(429);
    expect(refused.head).not.toContain("connection: close");
    // Another caller's requests on the held connection: sent, not read.
    connection.echo("alice", 2);
    connection.echo("alice", 3);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(front.judged()).toBe(1);
    expect(front.held).toHaveLength(1);
    front.held[0]!.resume();
    // Judged as alice, on their own merits, in order; the connection serves on.
    for (const id of [2, 3]) {
      const served = await connection.answer();
      expect(served.status).toBe(200);
      expect(JSON.parse(served.body)).toMatchObject({ id, result: { content: [{ text: expect.stringContaining(`call ${id}`) }] } });
    }
    expect(front.judged()).toBe(3);
    connection.echo("alice", 4);
    expect((await connection.answer()).status).toBe(200);
    expect(connection.closed).toBe(false);
  });

  it("closes the connection after the refusal when the holder will not hold it", async () => {
    const front = holdingFront();
    const connection = await listen(front.authenticate, 5000);
    connection.echo("close", 1);
    const refused = await connection.answer();
    expect(refused.status).toBe(429);
    expect(refused.head).toContain("connection: close");
    await until(() => connection.closed, "the refused connection to close");
    expect(front.held).toHaveLength(0);
  });

  it("a held connection its client closed is closed here once resumed; resuming it again does nothing", async () => {
    const front = holdingFront();
    const connection = await listen(front.authenticate, 5000);
    connection.echo("hold", 1);
    expect((await connection.answer()).status).toBe(429);
    connection.socket.end();
    const [{ socket, resume }] = front.held as [(typeof front.held)[0]];
    // Not read, so its end is not seen yet: it is, on resume.
    resume();
    await until(() => socket.destroyed, "the held socket to close");
    resume();
    expect(front.judged()).toBe(1);
  });

  it("a held connection is idle to node:http: the server's close() closes it", async () => {
    const front = holdingFront();
    const connection = await listen(front.authenticate, 5000);
    connection.echo("hold", 1);
    expect((await connection.answer()).status).toBe(429);
    connection.echo("alice", 2); // waiting unread
    const closed = new Promise((resolve) => server!.close(resolve));
    await until(() => connection.closed, "the held connection closed");
    await closed;
    server = undefined;
  });
});

describe("holding an admitted caller's connection after its answer (front.holdAfterAnswer)", () => {
  it("answers the request, then reads nothing more from the connection until resumed", async () => {
    const held: Array<() => void> = [];
    let judged = 0;
    const authenticate: Authenticate = (req, front) => {
      judged++;
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (token === "slow") front?.holdAfterAnswer((_socket, resume) => held.push(resume) > 0);
      return { token, clientId: token, scopes: [], extra: { identity: token } };
    };
    const connection = await listen(authenticate, 5_000);
    connection.echo("slow", 1);
    const first = await connection.answer();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ id: 1 });
    connection.echo("alice", 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(judged).toBe(1);
    expect(held).toHaveLength(1);
    held[0]!();
    const second = await connection.answer();
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body)).toMatchObject({ id: 2 });
    expect(judged).toBe(2);
  });
});

describe("what a held connection keeps alive", () => {
  it("not the request it answered, nor its answer: a holder keeps only what resumes the connection", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const held: Array<() => void> = [];
    let request: WeakRef<http.IncomingMessage> | undefined;
    const authenticate: Authenticate = (req, front) => {
      request = new WeakRef(req);
      front?.holdAfterAnswer((_socket, resume) => held.push(resume) > 0);
      return { token: "slow", clientId: "slow", scopes: [], extra: { identity: "slow" } };
    };
    const connection = await listen(authenticate, 5_000);
    connection.echo("slow", 1);
    expect((await connection.answer()).status).toBe(200);
    await until(() => held.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the answer's own callbacks done
    for (let i = 0; i < 3; i++) gc();
    // Held for many ms under a flood, the request (its headers, body, answer) would be promoted with the hold.
    expect(request!.deref()).toBeUndefined();
    held[0]!();
  });
});
