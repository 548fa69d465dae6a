// A front session takes its client's requests off the transport itself (past the SDK Protocol):
// one table of requests in flight, whatever the transport, that refuses a second request with an id
// still in flight and that `notifications/cancelled` empties (a cancelled request is not answered).
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { FIXTURE, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** A raw client on an in-memory pair: what it sends and every message it receives. */
async function rawClient(proxy: FastMCPProxy) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const received: JSONRPCMessage[] = [];
  clientSide.onmessage = (message) => void received.push(message);
  await clientSide.start();
  await proxy.connect(serverSide);
  const send = (message: object) => clientSide.send({ jsonrpc: "2.0", ...message } as JSONRPCMessage);
  await send({ id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
  await until(() => received.some((m) => "id" in m && m.id === "init"), "the initialize answer");
  await send({ method: "notifications/initialized" });
  const answersTo = (id: string | number) => received.filter((m) => "id" in m && m.id === id && !("method" in m));
  return { send, answersTo };
}

describe("a front session's requests in flight", () => {
  it("refuses a request whose id is still in flight, on any transport", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
    const client = await rawClient(proxy);
    const call = { id: 7, method: "tools/call", params: { name: "echo", arguments: { text: "first", delayMs: 300 } } };
    await client.send(call);
    await client.send({ ...call, params: { name: "echo", arguments: { text: "second" } } });
    const answers = await until(() => (client.answersTo(7).length === 2 ? client.answersTo(7) : undefined), "both answers");
    const [refusal, result] = answers as Array<{ error?: { code: number; message: string }; result?: { structuredContent?: unknown } }>;
    expect(refusal!.error).toEqual({ code: -32600, message: "Invalid Request: a request with id 7 is already in flight" });
    expect(result!.result?.structuredContent).toEqual({ echoed: "first" });
  });

  it("does not answer a cancelled request, and takes its id again afterwards", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
    const client = await rawClient(proxy);
    await client.send({ id: 8, method: "tools/call", params: { name: "echo", arguments: { text: "slow", delayMs: 5_000 } } });
    await client.send({ method: "notifications/cancelled", params: { requestId: 8, reason: "changed my mind" } });
    await client.send({ id: 8, method: "tools/call", params: { name: "echo", arguments: { text: "again" } } });
    const [answer] = await until(() => (client.answersTo(8).length > 0 ? client.answersTo(8) : undefined), "an answer");
    expect((answer as { result?: { structuredContent?: unknown } }).result?.structuredContent).toEqual({ echoed: "again" });
    // The ping round trip after it: the cancelled call's answer, had it come, would be in by now.
    await client.send({ id: "ping", method: "ping" });
    await until(() => client.answersTo("ping").length > 0, "the ping answer");
    expect(client.answersTo(8)).toHaveLength(1);
  });
});
