import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { FastMCPProxy } from "@fastmcp-proxy/core";

/** Collects everything a logger writes. */
export function capture() {
  const lines: string[] = [];
  return {
    lines,
    destination: { write: (chunk: string) => void lines.push(chunk) },
    text: () => lines.join(""),
    entries: (): Record<string, any>[] => lines.join("").split("\n").filter(Boolean).map((l) => JSON.parse(l)),
  };
}

/** A client connected in memory whose every request carries `authInfo`, as an authenticated HTTP front would set it. */
export async function connectAs(proxy: FastMCPProxy, authInfo: AuthInfo): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const send = clientSide.send.bind(clientSide);
  clientSide.send = (message, options) => send(message, { ...options, authInfo });
  await proxy.connect(serverSide);
  const client = new Client({ name: "auth-client", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}
