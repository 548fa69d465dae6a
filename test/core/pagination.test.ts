// Pagination: the proxy reads every page of a backend that paginates, and serves its clients
// pages of its own (pageSize) under cursors it mints; a bad or stale cursor is InvalidParams.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { pageOf, shareable } from "../../packages/core/src/components/pages.js";
import { encodeMessage } from "../../packages/core/src/wire/raw.js";

/** A message as the front writes it, as one text. */
function messageJson(message: object): string {
  const encoded = encodeMessage(message);
  return typeof encoded === "string" ? encoded : encoded.head + encoded.body.toString("utf8") + encoded.tail;
}
import { connectClient, raw, rejection } from "../helpers.js";

/** A low-level server answering every list in pages of 2, with its own cursors ("2", "4", ...). */
function pagingServer() {
  const lists: Record<string, { key: string; items: Record<string, unknown>[] }> = {
    "tools/list": { key: "tools", items: ["a", "b", "c", "d", "e"].map((n) => ({ name: `tool_${n}`, inputSchema: { type: "object" } })) },
    "resources/list": { key: "resources", items: [1, 2, 3].map((i) => ({ uri: `page://r/${i}`, name: `r${i}` })) },
    "resources/templates/list": { key: "resourceTemplates", items: [1, 2, 3].map((i) => ({ uriTemplate: `page://t${i}/{id}`, name: `t${i}` })) },
    "prompts/list": { key: "prompts", items: [1, 2, 3].map((i) => ({ name: `prompt_${i}` })) },
  };
  const requests: { method: string; cursor: string | undefined }[] = [];
  const server = new Server({ name: "pager", version: "1" }, { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} } });
  server.fallbackRequestHandler = async (request) => {
    const list = lists[request.method];
    if (!list) throw new McpError(ErrorCode.MethodNotFound, request.method);
    const cursor = request.params?.cursor as string | undefined;
    requests.push({ method: request.method, cursor });
    const offset = cursor === undefined ? 0 : Number(cursor);
    const next = offset + 2;
    return { [list.key]: list.items.slice(offset, next), ...(next < list.items.length && { nextCursor: String(next) }) };
  };
  return { server, requests, lists };
}

let proxy: FastMCPProxy | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await proxy?.close();
  proxy = client = undefined;
});

/** Every page of a list as the client gets it: the items' names per page, and the cursors given. */
async function pages(c: Client, method: string, key: string, name: string) {
  const got: string[][] = [];
  const cursors: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await raw(c, method, cursor === undefined ? {} : { cursor });
    got.push(page[key].map((item: Record<string, string>) => item[name]));
    cursor = page.nextCursor;
    if (cursor !== undefined) cursors.push(cursor);
  } while (cursor !== undefined && got.length < 20);
  return { got, cursors };
}

describe("pagination", () => {
  it("reads every backend page at start, then serves pages of its own size from the mirror", async () => {
    const backend = pagingServer();
    proxy = FastMCPProxy.asProxy(backend.server, { pageSize: 3, logLevel: "error" });
    client = await connectClient(proxy);
    const tools = backend.requests.filter((r) => r.method === "tools/list").map((r) => r.cursor);
    expect(tools).toEqual([undefined, "2", "4"]);
    const atStart = backend.requests.length;

    const listed = await pages(client, "tools/list", "tools", "name");
    expect(listed.got).toEqual([["tool_a", "tool_b", "tool_c"], ["tool_d", "tool_e"]]);
    expect(listed.cursors).toHaveLength(1);
    expect(listed.cursors[0]).not.toMatch(/^\d+$/); // the proxy's own cursor, not the backend's
    expect((await pages(client, "resources/list", "resources", "uri")).got).toEqual([["page://r/1", "page://r/2", "page://r/3"]]);
    expect((await pages(client, "prompts/list", "prompts", "name")).got).toEqual([["prompt_1", "prompt_2", "prompt_3"]]);
    expect(backend.requests.length).toBe(atStart); // served from the mirror: no backend round trip
  });

  it("pages every kind of list when it is longer than a page", async () => {
    const backend = pagingServer();
    proxy = FastMCPProxy.asProxy(backend.server, { pageSize: 2, logLevel: "error" });
    client = await connectClient(proxy);
    expect((await pages(client, "tools/list", "tools", "name")).got).toEqual([["tool_a", "tool_b"], ["tool_c", "tool_d"], ["tool_e"]]);
    expect((await pages(client, "resources/list", "resources", "uri")).got).toEqual([["page://r/1", "page://r/2"], ["page://r/3"]]);
    expect((await pages(client, "resources/templates/list", "resourceTemplates", "uriTemplate")).got).toEqual([
      ["page://t1/{id}", "page://t2/{id}"],
      ["page://t3/{id}"],
    ]);
    expect((await pages(client, "prompts/list", "prompts", "name")).got).toEqual([["prompt_1", "prompt_2"], ["prompt_3"]]);
  });

  it("an invalid cursor, or one from another list, is InvalidParams", async () => {
    proxy = FastMCPProxy.asProxy(pagingServer().server, { pageSize: 2, logLevel: "error" });
    client = await connectClient(proxy);
    for (const cursor of ["nonsense", "2", "eyJrIjoidG9vbHMiLCJvIjotMX0", ""]) {
      const error = await rejection(raw(client, "tools/list", { cursor }));
      expect(error.code).toBe(ErrorCode.InvalidParams);
      expect(error.message).toMatch(/Invalid cursor for tools\/list/);
    }
    const toolsCursor = (await raw(client, "tools/list")).nextCursor;
    const crossed = await rejection(raw(client, "prompts/list", { cursor: toolsCursor }));
    expect(crossed.code).toBe(ErrorCode.InvalidParams);
  });

  it("a cursor given before the list changed is InvalidParams (stale); listing again sees the new list", async () => {
    const backend = pagingServer();
    proxy = FastMCPProxy.asProxy(backend.server, { pageSize: 2, logLevel: "error" });
    client = await connectClient(proxy);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    const cursor = (await raw(client, "tools/list")).nextCursor;
    expect((await raw(client, "tools/list", { cursor })).tools.map((t: { name: string }) => t.name)).toEqual(["tool_c", "tool_d"]);

    backend.lists["tools/list"]!.items.unshift({ name: "tool_new", inputSchema: { type: "object" } });
    await backend.server.notification({ method: "notifications/tools/list_changed" });
    const deadline = Date.now() + 5000;
    while (changed === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(changed).toBe(1);

    const stale = await rejection(raw(client, "tools/list", { cursor }));
    expect(stale.code).toBe(ErrorCode.InvalidParams);
    expect(stale.message).toMatch(/Stale cursor for tools\/list: the list has changed/);
    expect((await pages(client, "tools/list", "tools", "name")).got.flat()).toEqual(["tool_new", "tool_a", "tool_b", "tool_c", "tool_d", "tool_e"]);
  });

  it("without pageSize, the whole list in one answer, as before", async () => {
    proxy = FastMCPProxy.asProxy(pagingServer().server, { logLevel: "error" });
    client = await connectClient(proxy);
    const tools = await raw(client, "tools/list");
    expect(tools.tools).toHaveLength(5);
    expect(tools.nextCursor).toBeUndefined();
    expect((await rejection(raw(client, "tools/list", { cursor: "2" }))).code).toBe(ErrorCode.InvalidParams);
  });

  it("rejects a pageSize that is not a whole number ≥ 1", () => {
    expect(() => FastMCPProxy.asProxy(pagingServer().server, { pageSize: 0 })).toThrow(/pageSize must be a whole number/);
  });
});

describe("list answers made once", () => {
  type ToolList = { tools: ReadonlyArray<{ name: string }>; nextCursor?: string };
  const list = (): ToolList => shareable(Object.freeze({ tools: Object.freeze([1, 2, 3, 4, 5].map((i) => Object.freeze({ name: `t${i}`, inputSchema: { type: "object" } }))) }));

  it("a shared list's bytes are made once and spliced into each response, reading as JSON.stringify would", () => {
    const tools = list();
    for (const id of [1, "a \"quoted\" id", 0, "é ✓ 𝄞"]) {
      const message = { result: tools, jsonrpc: "2.0", id };
      const encoded = encodeMessage(message);
      expect(typeof encoded).toBe("object"); // the list's bytes, not a new text
      expect(JSON.parse(messageJson(message))).toEqual(JSON.parse(JSON.stringify(message)));
    }
    expect(JSON.parse(String(messageJson({ result: tools })))).toEqual({ result: tools });
    // Anything not marked shareable is serialized as it is, each time.
    const plain = { tools: [{ name: "x" }] };
    const message = { jsonrpc: "2.0", id: 2, result: plain };
    expect(messageJson(message)).toBe(JSON.stringify(message));
    plain.tools.push({ name: "y" });
    expect(messageJson(message)).toBe(JSON.stringify(message));
  });

  it("a page of a shared list is one frozen object per cursor, itself shared; other lists get new pages", () => {
    const tools = list();
    const first = pageOf("tools/list", tools, "tools", undefined, 2);
    expect(pageOf("tools/list", tools, "tools", undefined, 2)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const second = pageOf("tools/list", tools, "tools", first.nextCursor, 2);
    expect(second.tools.map((t) => t.name)).toEqual(["t3", "t4"]);
    expect(pageOf("tools/list", tools, "tools", first.nextCursor, 2)).toBe(second);
    expect(pageOf("tools/list", tools, "tools", undefined, 3).tools).toHaveLength(3);
    expect(JSON.parse(String(messageJson({ jsonrpc: "2.0", id: 7, result: second }))).result).toEqual(JSON.parse(JSON.stringify(second)));
    const unshared = { tools: [...tools.tools] };
    expect(pageOf("tools/list", unshared, "tools", undefined, 2)).not.toBe(pageOf("tools/list", unshared, "tools", undefined, 2));
  });
});
