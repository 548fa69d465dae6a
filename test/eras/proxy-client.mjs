// The proxy as a 2026-07-28 client, for the conformance suite's client scenarios: it is given the
// scenario server's URL (last argument) as its one backend, spoken to in 2026-07-28, and an
// in-memory SDK client drives it as a user's client would (lists, calls, reads, gets). Runs on the
// built core (packages/core/dist): `npx tsc -b packages/core` first.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { Tokens } from "@fastmcp-proxy/core/advanced";
import { modernConnector } from "../../packages/core/dist/eras/index.js";

const url = process.argv.at(-1);
const proxy = FastMCPProxy.asProxy(url, {
  logLevel: "error",
  configure: (container) =>
    container.register(Tokens.Backends, { useValue: [{ name: "backend", prefix: undefined, connector: modernConnector(url), timeoutMs: undefined }] }),
});
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
await proxy.connect(serverSide);
const client = new Client({ name: "proxy-as-client", version: "1.0.0" }, { capabilities: { elicitation: {}, sampling: {}, roots: {} } });
client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { confirmed: true } }));
client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: "assistant", content: { type: "text", text: "ok" }, model: "none" }));
client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [] }));
await client.connect(clientSide);

const request = (method, params = {}) => client.request({ method, params }, ResultSchema.passthrough()).catch((e) => ({ error: e.message }));
const caps = client.getServerCapabilities() ?? {};
const tools = caps.tools ? ((await request("tools/list")).tools ?? []) : [];
// The calls a scenario asks for (MCP_CONFORMANCE_CONTEXT), else each listed tool once.
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}");
const sample = { number: 2, integer: 2, string: "x", boolean: true };
const argumentsFor = (tool) =>
  Object.fromEntries((tool.inputSchema?.required ?? []).map((key) => [key, sample[tool.inputSchema.properties?.[key]?.type] ?? null]));
const calls = context.toolCalls ?? tools.map((tool) => ({ name: tool.name, arguments: argumentsFor(tool) }));
for (const call of calls) await request("tools/call", call);
if (caps.resources) {
  const resources = (await request("resources/list")).resources ?? [];
  if (resources[0]) await request("resources/read", { uri: resources[0].uri });
}
if (caps.prompts) {
  const prompts = (await request("prompts/list")).prompts ?? [];
  if (prompts[0]) await request("prompts/get", { name: prompts[0].name, arguments: {} });
}
await client.close();
await proxy.close();
process.exit(0);
