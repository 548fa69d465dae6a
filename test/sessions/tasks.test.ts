// Tasks (protocol 2025-11-25) through the proxy: task-augmented tools/call, tasks/get, tasks/list,
// tasks/result, tasks/cancel and notifications/tasks/status, each routed to the backend that holds
// the task and to the client that created it. Backends: server-everything over stdio (a child per
// front session) and in-process SDK servers built with the SDK's experimental tasks API.
import { createRequire } from "node:module";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  ErrorCode,
  RELATED_TASK_META_KEY,
  TaskStatusNotificationSchema,
  type TaskStatusNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createTaskServer } from "../fixtures/task-server.mjs";
import { connectClient, raw, rejection, until } from "../helpers.js";

const EVERYTHING = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js");

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});


/** A client that records the task status notifications it is sent. */
function statusRecorder(client: Client): TaskStatusNotification["params"][] {
  const seen: TaskStatusNotification["params"][] = [];
  client.setNotificationHandler(TaskStatusNotificationSchema, (n) => void seen.push(n.params));
  return seen;
}

function taskServer(name?: string) {
  const made = createTaskServer(name);
  cleanups.push(made.close);
  return made.server;
}

describe("tasks with server-everything (stdio backend, a child per front session)", () => {
  async function everything(options: ConstructorParameters<typeof Client>[1] = {}) {
    // An empty env: its get-env tool prints the whole environment.
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [EVERYTHING, "stdio"], env: {} }, { logLevel: "error" });
    const client = await connectClient(proxy, options);
    clients.push(client);
    return client;
  }

  it("mirrors the tasks capability and each tool's execution.taskSupport", async () => {
    const client = await everything();
    expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const tools = (await raw(client, "tools/list")).tools as { name: string; execution?: { taskSupport?: string } }[];
    expect(tools.find((t) => t.name === "simulate-research-query")?.execution).toEqual({ taskSupport: "required" });
  });

  it("runs simulate-research-query as a task: CreateTaskResult, status notifications, tasks/get, tasks/list, the result", async () => {
    const client = await everything();
    const statuses = statusRecorder(client);
    await client.listTools(); // the SDK client learns which tools are tasks from the list
    const messages: { type: string; task?: { taskId: string; status: string }; result?: unknown; error?: unknown }[] = [];
    for await (const message of client.experimental.tasks.callToolStream(
      { name: "simulate-research-query", arguments: { topic: "proxies" } },
      CallToolResultSchema,
      { timeout: 20_000 },
    )) {
      messages.push(message as (typeof messages)[number]);
    }
    expect(messages[0]).toMatchObject({ type: "taskCreated", task: { status: "working" } });
    const taskId = messages[0]!.task!.taskId;
    expect(messages.filter((m) => m.type === "taskStatus").length).toBeGreaterThan(0);
    const last = messages.at(-1)!;
    expect(last.type).toBe("result");
    expect(JSON.stringify(last.result)).toContain("Research Report: proxies");

    // The backend's status notifications reached this client, for this task, up to completion.
    await until(() => statuses.some((s) => s.status === "completed"), "the completed status notification");
    expect(statuses.every((s) => s.taskId === taskId)).toBe(true);
    expect(statuses.map((s) => s.statusMessage)).toContain("Gathering sources...");

    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ taskId, status: "completed" });
    const listed = await client.experimental.tasks.listTasks();
    expect(listed.tasks.map((t) => t.taskId)).toContain(taskId);
  }, 30_000);

  it("relays the task's elicitation (queued for tasks/result) to the client and completes with its answer", async () => {
    const asked: unknown[] = [];
    const client = await everything({ capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: "accept", content: { interpretation: "programming" } };
    });
    await client.listTools();
    let result: unknown;
    for await (const message of client.experimental.tasks.callToolStream(
      { name: "simulate-research-query", arguments: { topic: "python", ambiguous: true } },
      CallToolResultSchema,
      { timeout: 20_000 },
    )) {
      if (message.type === "result") result = message.result;
      if (message.type === "error") throw message.error;
    }
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ message: expect.stringContaining("python"), _meta: { [RELATED_TASK_META_KEY]: { taskId: expect.any(String) } } });
    expect(JSON.stringify(result)).toContain("Clarification**: programming");
  }, 30_000);

  it("cancels a task with tasks/cancel", async () => {
    const client = await everything();
    const created = await client.request(
      { method: "tools/call", params: { name: "simulate-research-query", arguments: { topic: "cancel me" }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    const { taskId } = created.task;
    expect(created.task.status).toBe("working");
    expect(await client.experimental.tasks.cancelTask(taskId)).toMatchObject({ taskId, status: "cancelled" });
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ taskId, status: "cancelled" });
  });
});

describe("tasks with in-process backends (one shared backend session)", () => {
  it("a task-augmented call: CreateTaskResult, progress with the client's token after it, then the result", async () => {
    proxy = FastMCPProxy.asProxy(taskServer(), { logLevel: "error" });
    const client = await connectClient(proxy);
    clients.push(client);
    const statuses = statusRecorder(client);
    const progress: number[] = [];
    const created = await client.request(
      { method: "tools/call", params: { name: "countdown", arguments: { ms: 150, label: "first" }, task: { ttl: 30_000 } } },
      CreateTaskResultSchema,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(created.task).toMatchObject({ status: "working", ttl: expect.any(Number), pollInterval: 20 });
    const { taskId } = created.task;
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.content).toEqual([{ type: "text", text: "tasks: first done after 150 ms" }]);
    expect(result._meta).toEqual({ [RELATED_TASK_META_KEY]: { taskId } });
    await until(() => progress.length === 3, "three progress notifications");
    expect(progress).toEqual([1, 2, 3]);
    await until(() => statuses.length > 0, "the status notification");
    expect(statuses.at(-1)).toMatchObject({ taskId, status: "completed" });
    // Without task augmentation, an optional-task tool answers with its result, as it would directly.
    const direct = await raw(client, "tools/call", { name: "countdown", arguments: { ms: 30 } });
    expect(direct.content).toEqual([{ type: "text", text: "tasks: countdown done after 30 ms" }]);
  });

  it("relays an elicitation queued for tasks/result, and tasks/result waits past the per-request timeout", async () => {
    proxy = FastMCPProxy.asProxy(taskServer(), { logLevel: "error", timeoutMs: 200 });
    const client = await connectClient(proxy, { capabilities: { elicitation: {} } });
    clients.push(client);
    client.setRequestHandler(ElicitRequestSchema, async () => {
      await new Promise((resolve) => setTimeout(resolve, 400)); // longer than timeoutMs
      return { action: "accept", content: { name: "Ada" } };
    });
    const created = await client.request({ method: "tools/call", params: { name: "ask-in-task", arguments: {}, task: {} } }, CreateTaskResultSchema);
    const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.content).toEqual([{ type: "text", text: "hello Ada" }]);
  });

  it("an unknown task, and a task of another client of the shared session, are InvalidParams; lists show only your own", async () => {
    proxy = FastMCPProxy.asProxy(taskServer(), { logLevel: "error" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const connect = async () => {
      const client = new Client({ name: "http-client", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
      clients.push(client);
      return client;
    };
    const [a, b] = [await connect(), await connect()];
    const [statusesA, statusesB] = [statusRecorder(a), statusRecorder(b)];
    const createdA = await a.request({ method: "tools/call", params: { name: "wait", arguments: {}, task: {} } }, CreateTaskResultSchema);
    const createdB = await b.request({ method: "tools/call", params: { name: "wait", arguments: {}, task: {} } }, CreateTaskResultSchema);
    const [idA, idB] = [createdA.task.taskId, createdB.task.taskId];

    expect((await a.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([idA]);
    expect((await b.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([idB]);
    const foreign = await rejection(b.experimental.tasks.getTask(idA));
    expect(foreign.code).toBe(ErrorCode.InvalidParams);
    expect(foreign.message).toContain(`Task not found: ${idA}`);
    expect((await rejection(b.experimental.tasks.cancelTask(idA))).code).toBe(ErrorCode.InvalidParams);
    expect((await rejection(a.experimental.tasks.getTask("no-such-task"))).code).toBe(ErrorCode.InvalidParams);

    // Cancelling A's task leaves B's alone.
    expect(await a.experimental.tasks.cancelTask(idA)).toMatchObject({ taskId: idA, status: "cancelled" });
    expect(await b.experimental.tasks.getTask(idB)).toMatchObject({ taskId: idB, status: "working" });

    // The status notifications of A's next task go to A only.
    const next = await a.request({ method: "tools/call", params: { name: "countdown", arguments: { ms: 60 }, task: {} } }, CreateTaskResultSchema);
    await until(() => statusesA.some((s) => s.taskId === next.task.taskId && s.status === "completed"), "A's completed status");
    await new Promise((resolve) => setTimeout(resolve, 100)); // room for anything misrouted to arrive
    expect(statusesB).toEqual([]);
  });

  /** The proxy on stateless HTTP over a task server; who calls is the x-user header (an authenticator stands in for a token verifier). */
  async function statelessWithUsers() {
    proxy = FastMCPProxy.asProxy(taskServer(), { logLevel: "error" });
    const authenticate = (req: { headers: Record<string, string | string[] | undefined> }) => {
      const user = String(req.headers["x-user"] ?? "");
      return user ? { token: `t-${user}`, clientId: user, scopes: [], extra: { identity: user } } : undefined;
    };
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, stateless: true, authenticate });
    const connect = async (user: string) => {
      const client = new Client({ name: user, version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { "x-user": user } } }));
      clients.push(client);
      return client;
    };
    return { url: url!, connect };
  }

  it("stateless HTTP with authentication: each principal sees and addresses only its own tasks", async () => {
    const { connect } = await statelessWithUsers();
    const [alice, bob] = [await connect("alice"), await connect("bob")];
    const idA = (await alice.request({ method: "tools/call", params: { name: "wait", arguments: {}, task: {} } }, CreateTaskResultSchema)).task.taskId;
    const idB = (await bob.request({ method: "tools/call", params: { name: "wait", arguments: {}, task: {} } }, CreateTaskResultSchema)).task.taskId;
    // Each request stands alone, yet the tasks are each principal's own.
    expect((await alice.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([idA]);
    expect((await bob.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([idB]);
    expect((await rejection(bob.experimental.tasks.getTask(idA))).message).toContain(`Task not found: ${idA}`);
    expect((await rejection(bob.experimental.tasks.cancelTask(idA))).code).toBe(ErrorCode.InvalidParams);
    expect(await alice.experimental.tasks.getTask(idA)).toMatchObject({ taskId: idA, status: "working" });
    await alice.experimental.tasks.cancelTask(idA);
    await bob.experimental.tasks.cancelTask(idB);
  });

  it("stateless HTTP: anonymous requests naming tasks (each a new caller) cannot push out a principal's own", async () => {
    const { url, connect } = await statelessWithUsers();
    const alice = await connect("alice");
    const id = (await alice.request({ method: "tools/call", params: { name: "wait", arguments: {}, task: {} } }, CreateTaskResultSchema)).task.taskId;
    // More anonymous requests than the proxy keeps tenants' tables (10,000), each naming a task.
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
    let answered = 0;
    const anonymous = async (from: number) => {
      for (let i = from; i < 10_001; i += 8) {
        const body = JSON.stringify({ jsonrpc: "2.0", id: i, method: "tasks/get", params: { taskId: `nobody-${i}` } });
        if ((await (await fetch(url, { method: "POST", headers, body })).text()).includes("Task not found")) answered++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, k) => anonymous(k)));
    expect(answered).toBe(10_001);
    expect(await alice.experimental.tasks.getTask(id)).toMatchObject({ taskId: id, status: "working" });
    expect((await alice.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([id]);
    await alice.experimental.tasks.cancelTask(id);
  }, 60_000);

  it("two task backends: tasks/* go to the backend that created the task; tasks/list pages through both", async () => {
    proxy = FastMCPProxy.asProxy(taskServer("one"), { logLevel: "error" }).mount(taskServer("two"), { namespace: "two" });
    const client = await connectClient(proxy);
    clients.push(client);
    const tools = (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["countdown", "two_countdown"]));
    const start = async (name: string) =>
      (await client.request({ method: "tools/call", params: { name, arguments: { ms: 30 }, task: {} } }, CreateTaskResultSchema)).task.taskId;
    const [one, two] = [await start("countdown"), await start("two_countdown")];
    expect((await client.experimental.tasks.getTaskResult(one, CallToolResultSchema)).structuredContent).toEqual({ server: "one", label: null });
    expect((await client.experimental.tasks.getTaskResult(two, CallToolResultSchema)).structuredContent).toEqual({ server: "two", label: null });

    // Each backend's tasks on their own page(s), under cursors the proxy minted.
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await client.experimental.tasks.listTasks(cursor);
      pages.push(page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages).toEqual([[one], [two]]);
    expect((await rejection(client.experimental.tasks.listTasks("not-a-cursor"))).code).toBe(ErrorCode.InvalidParams);
  });

  it("without a tasks-capable backend, tasks/* are MethodNotFound and no tasks capability is advertised", async () => {
    const { createFixtureServer } = await import("../fixtures/fixture-server.mjs");
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error" });
    const client = await connectClient(proxy);
    clients.push(client);
    expect(client.getServerCapabilities()?.tasks).toBeUndefined();
    expect((await rejection(raw(client, "tasks/get", { taskId: "x" }))).code).toBe(ErrorCode.MethodNotFound);
    expect((await rejection(raw(client, "tasks/list"))).code).toBe(ErrorCode.MethodNotFound);
  });
});
