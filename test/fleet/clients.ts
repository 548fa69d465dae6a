// SDK clients of both eras for the fleet tests, speaking to a load balancer by its public name.
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { expect } from "vitest";
import { publicFetch, type Exchange } from "./balancer.js";

// Generous: CI machines are busy, and a replica that rebuilds a session opens its backend session first.
export const CALL_TIMEOUT_MS = 15_000;

export interface AnyClient {
  call(name: string, args: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

export async function legacyClient(url: string, log: Exchange[]): Promise<AnyClient> {
  const client = new LegacyClient({ name: "fleet-legacy", version: "1.0.0" });
  await client.connect(new LegacyHttp(new URL(url), { fetch: publicFetch(log) }));
  return {
    call: (name, args) => client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS }),
    close: () => client.close(),
  };
}

export async function modernClient(url: string, log: Exchange[]): Promise<AnyClient & Client> {
  const client = new Client({ name: "fleet-2026", version: "1.0.0" }, { capabilities: { sampling: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } as never });
  client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", content: { type: "text", text: "sampled" }, model: "test" }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: publicFetch(log) }));
  return Object.assign(client, { call: (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }, { timeout: CALL_TIMEOUT_MS }) });
}

export interface Outcome {
  name: string;
  succeeded: number;
  failures: string[];
  lastSucceeded: boolean;
}

/** `count` echo calls in a row, each checked; a failure is recorded and the client carries on. */
export async function callRepeatedly(client: AnyClient, name: string, count: number, progress = { calls: 0 }): Promise<Outcome> {
  const outcome: Outcome = { name, succeeded: 0, failures: [], lastSucceeded: false };
  for (let i = 0; i < count; i++) {
    const expected = `${name} call ${i}`;
    try {
      const result = await client.call("echo", { text: expected, delayMs: 20 });
      expect(text(result)).toBe(expected);
      outcome.succeeded++;
      outcome.lastSucceeded = true;
    } catch (error) {
      outcome.failures.push(`call ${i}: ${(error as Error).message}`);
      outcome.lastSucceeded = false;
    }
    progress.calls++;
  }
  return outcome;
}

export function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text).join(" ");
}

export function times<T>(count: number, make: () => T): T[] {
  return Array.from({ length: count }, make);
}
