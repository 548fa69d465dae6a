// The fleet of issue 22 behind a real nginx: three CLI replicas (sharing --fleet-key-env, the Redis
// event store and --allowed-host; one HTTP backend) under plain round robin, with the config
// docs/deployment.md shows, and real SDK clients of both eras. Skipped only where nginx is not installed.
import { describe, expect, it } from "vitest";
import { findBinary, publicFetch, startNginx, fleetBehind, type Exchange } from "./balancer.js";
import { CALL_TIMEOUT_MS, callRepeatedly, legacyClient, modernClient, text, times } from "./clients.js";

const NGINX = findBinary("nginx");

describe.skipIf(!NGINX)(`3 replicas behind nginx, round robin${NGINX ? "" : " (skipped: nginx is not installed; apt-get install -y nginx)"}`, () => {
  const fleet = fleetBehind((replicas, port) => startNginx(NGINX!, replicas, port));

  it("every session connects, legacy and 2026-07-28, and every call succeeds", async () => {
    const log: Exchange[] = [];
    const clients = await Promise.all([...times(10, () => legacyClient(fleet.balancer.url, log)), ...times(5, () => modernClient(fleet.balancer.url, log))]);
    try {
      const outcomes = await Promise.all(clients.map((client, i) => callRepeatedly(client, `client ${i}`, 6)));
      expect(outcomes.flatMap((o) => o.failures)).toEqual([]);
      expect(outcomes.map((o) => o.succeeded)).toEqual(clients.map(() => 6));
      expect(new Set(log.map((e) => e.servedBy))).toEqual(new Set(fleet.replicas.map((r) => r.address))); // round robin spread them
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 45_000);

  it("a replica killed mid-run: its clients carry on on the others, losing at most the call in flight, and its stream resumes elsewhere", async () => {
    const log: Exchange[] = [];
    const clients = await Promise.all([...times(6, () => legacyClient(fleet.balancer.url, log)), ...times(3, () => modernClient(fleet.balancer.url, log))]);
    const progress = { calls: 0 };
    const running = clients.map((client, i) => callRepeatedly(client, `client ${i}`, 12, progress));
    try {
      // A stream whose events went to Redis, on the replica about to die.
      const stream = await rawSession(fleet.balancer.url);
      const call = await stream.post({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "echo", arguments: { text: "before the loss" } } });
      const victim = fleet.replicas.find((r) => r.address === call.servedBy)!;
      expect(victim, `X-Served-By ${call.servedBy}`).toBeDefined();
      await until(() => progress.calls >= 30, 20_000, "30 calls before the kill");
      victim.cli.child.kill("SIGKILL");
      await victim.cli.exited(5_000);

      const outcomes = await Promise.all(running);
      for (const outcome of outcomes) {
        expect(outcome.failures.length, `${outcome.name}: ${outcome.failures.join("; ")}`).toBeLessThanOrEqual(1);
        expect(outcome.lastSucceeded, `${outcome.name}'s last call`).toBe(true);
      }
      expect(log.some((e) => e.servedBy === victim.address)).toBe(true); // it served some before it died

      // Last-Event-ID after the priming event: another replica replays the call's result from Redis.
      const resumed = await stream.resume(call.events[0]!.id!);
      expect(resumed.servedBy).not.toBe(victim.address);
      expect(resumed.events.map((e) => JSON.parse(e.data || "null")).find((m) => m?.id === 7)?.result?.content?.[0]?.text).toBe("before the loss");
    } finally {
      await Promise.allSettled(running);
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 60_000);

  it("a 2026-07-28 client's call to a legacy tool that asks for sampling completes across replicas", async () => {
    const log: Exchange[] = [];
    const client = await modernClient(fleet.balancer.url, log);
    try {
      let crossed = 0;
      for (let i = 0; i < 4; i++) {
        const before = log.length;
        const result = await client.callTool({ name: "ask", arguments: { what: "sampling" } }, { timeout: CALL_TIMEOUT_MS });
        expect(JSON.parse(text(result))).toMatchObject({ content: { text: "sampled" } });
        const rounds = log.slice(before).filter((e) => e.method === "POST");
        expect(rounds.length).toBeGreaterThanOrEqual(2); // input_required, then the retry with the answer
        if (new Set(rounds.map((e) => e.servedBy)).size > 1) crossed++;
      }
      expect(crossed).toBeGreaterThan(0); // round robin sent a retry to the other replica
    } finally {
      await client.close();
    }
  }, 45_000);
});

interface SseEvent {
  id?: string;
  data: string;
}

/** A legacy session spoken to with raw HTTP (protocol 2025-11-25: POST answers are SSE with event ids). */
async function rawSession(url: string) {
  const send = publicFetch();
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
  const exchange = async (init: RequestInit) => {
    const log: Exchange[] = [];
    const response = await publicFetch(log)(url, { ...init, signal: AbortSignal.timeout(10_000) });
    return { response, servedBy: log[0]!.servedBy };
  };
  const initialize = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "fleet-raw", version: "1.0.0" } } };
  const opened = await send(url, { method: "POST", headers, body: JSON.stringify(initialize) });
  await opened.text();
  expect(opened.status).toBe(200);
  headers["mcp-session-id"] = opened.headers.get("mcp-session-id")!;
  const initialized = await send(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  await initialized.text();
  return {
    async post(message: object) {
      const { response, servedBy } = await exchange({ method: "POST", headers, body: JSON.stringify(message) });
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      return { servedBy, events: parseSse(await response.text()) };
    },
    /** GET with Last-Event-ID, read until the stream has a JSON-RPC response (or ends). */
    async resume(lastEventId: string) {
      const { response, servedBy } = await exchange({ method: "GET", headers: { ...headers, accept: "text/event-stream", "last-event-id": lastEventId } });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let body = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          body += Buffer.from(value).toString("utf8");
          if (parseSse(body).some((e) => /"(result|error)":/.test(e.data))) break;
        }
      } catch {
        // no replay within the exchange's 10 s: the events so far are the answer
      }
      await reader.cancel().catch(() => {});
      return { servedBy, events: parseSse(body) };
    },
  };
}

function parseSse(body: string): SseEvent[] {
  return body
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event: SseEvent = { data: "" };
      for (const line of block.split(/\r?\n/)) {
        const [field, ...rest] = line.split(":");
        const value = rest.join(":").replace(/^ /, "");
        if (field === "id") event.id = value;
        if (field === "data") event.data += value;
      }
      return event;
    });
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
