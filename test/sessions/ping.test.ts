import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { FIXTURE, connectClient, connectSession, raw, rejection } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
let stopped: number | undefined;
afterEach(async () => {
  if (stopped) process.kill(stopped, "SIGCONT");
  stopped = undefined;
  await proxy?.close();
  proxy = undefined;
});

describe("ping", () => {
  it("is answered when the backend sessions the client uses answer, and names a backend that does not", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { sessions: "shared", timeoutMs: 300, restart: false });
    const client = await connectClient(proxy);
    expect(await client.ping()).toEqual({});
    const pid = JSON.parse((await raw(client, "tools/call", { name: "whoami", arguments: {} })).content[0].text).pid;
    process.kill(pid, "SIGSTOP");
    stopped = pid;
    const error = await rejection(client.ping());
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain("did not answer ping");
  });

  it("does not open a backend session of its own just to answer", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"]);
    const { client, session } = await connectSession(proxy);
    expect(await client.ping()).toEqual({});
    expect(session.isolatedSessions).toBe(0);
    await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    expect(session.isolatedSessions).toBe(1);
    expect(await client.ping()).toEqual({});
    await client.close();
  });
});
