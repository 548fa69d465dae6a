// The per-backend flags users of other MCP proxies expect: --header and --protocol for a URL,
// -e and --pass-env for a command after --. Each through the built CLI against a real server.
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { FIXTURE_STDIO, runCli, startCli, stopAll } from "./process.js";
import { refused } from "./refused.js";

afterEach(stopAll);

/** The fixture over stateless streamable HTTP, answering only requests that carry `x-team: blue` and a bearer token. */
async function guardedServer(): Promise<{ url: string; close(): Promise<void> }> {
  const http: Server = createServer(async (req, res) => {
    if (req.headers["x-team"] !== "blue" || req.headers.authorization !== "Bearer s3cret") return void res.writeHead(401).end();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => void transport.close());
    await createFixtureServer().connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }),
  };
}

describe("--header", () => {
  let server: Awaited<ReturnType<typeof guardedServer>>;
  beforeAll(async () => (server = await guardedServer()));
  afterAll(() => server.close());

  it("sends each header with every request to the URL", async () => {
    const cli = startCli([server.url, "--header", "X-Team: blue", "--header", "Authorization:Bearer s3cret"]);
    const client = await cli.connectStdio();
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("whoami");
  });

  it("without them the server refuses, and the CLI says so", async () => {
    const { code, stderr } = await runCli([server.url]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/401|Unauthorized/i);
  });

  it("refuses a malformed header, or one with a backend that is not a URL", () => {
    expect(refused("https://h/mcp", "--header", "Authorization")).toBe('--header takes NAME:VALUE, e.g. --header "Authorization: Bearer $TOKEN", got "Authorization"');
    expect(refused("https://h/mcp", "--header", "X-Empty:")).toMatch(/^--header takes NAME:VALUE/);
    expect(refused("https://h/mcp", "--header", "Bad Name: x")).toMatch(/^--header takes NAME:VALUE/);
    expect(refused("--header", "X-A: 1", "--", "node", "s.js")).toMatch(/^--header applies to a URL backend/);
    expect(refused("servers.json", "--header", "X-A: 1")).toMatch(/for a config file, set it on the server in the file$/);
  });
});

describe("--protocol", () => {
  let modern: Awaited<ReturnType<typeof startDualEraServer>>;
  beforeAll(async () => (modern = await startDualEraServer({ modernOnly: true })));
  afterAll(() => modern.close());

  it("2026-07-28 reaches a server that speaks only that revision", async () => {
    const cli = startCli([modern.url, "--protocol", "2026-07-28"]);
    const client = await cli.connectStdio();
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it("auto finds it too; the default (legacy) does not", async () => {
    const cli = startCli([modern.url, "--protocol", "auto"]);
    expect((await (await cli.connectStdio()).listTools()).tools.length).toBeGreaterThan(0);
    const { code } = await runCli([modern.url]);
    expect(code).toBe(1);
  });

  it("refuses another value, or a backend that is not a URL", () => {
    expect(refused("https://h/mcp", "--protocol", "2025-06-18")).toBe('--protocol must be legacy, 2026-07-28 or auto, got "2025-06-18"');
    expect(refused("--demo", "--protocol", "auto")).toMatch(/^--protocol applies to a URL backend/);
  });
});

describe("-e and --pass-env", () => {
  const whoami = async (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const client = await startCli([...args, "--", ...FIXTURE_STDIO], { env }).connectStdio();
    const result = (await client.callTool({ name: "whoami", arguments: {} })) as { content: { text: string }[] };
    return JSON.parse(result.content[0]!.text).env as string | null;
  };

  it("a stdio child gets only the safe default environment unless told", async () => {
    expect(await whoami([], { ...process.env, FIXTURE_GREETING: "from-parent" })).toBe(null);
  });

  it("-e sets a variable in the child's environment", async () => {
    expect(await whoami(["-e", "FIXTURE_GREETING=hello=world"])).toBe("hello=world");
    expect(await whoami(["--env", "FIXTURE_GREETING="])).toBe("");
  });

  it("--pass-env passes named variables from the proxy's environment; -e wins over it", async () => {
    const env = { ...process.env, FIXTURE_GREETING: "from-parent" };
    expect(await whoami(["--pass-env", "OTHER,FIXTURE_GREETING"], env)).toBe("from-parent");
    expect(await whoami(["--pass-env", "FIXTURE_GREETING", "-e", "FIXTURE_GREETING=set"], env)).toBe("set");
  });

  it("names a --pass-env variable that is not set, and starts without it", async () => {
    const { FIXTURE_GREETING: _, ...env } = process.env;
    const cli = startCli(["--pass-env", "FIXTURE_GREETING", "--", ...FIXTURE_STDIO], { env });
    await cli.waitForStderr(/--pass-env FIXTURE_GREETING: FIXTURE_GREETING is not set here, so the server starts without it/);
  });

  it("refuses a malformed -e or --pass-env, or one without a command", () => {
    expect(refused("-e", "NOEQUALS", "--", "node", "s.js")).toBe('-e takes KEY=VALUE, e.g. -e API_KEY=secret, got "NOEQUALS" (to pass a variable from this environment: --pass-env NAME)');
    expect(refused("-e", "1BAD=x", "--", "node", "s.js")).toMatch(/^-e takes KEY=VALUE/);
    expect(refused("--pass-env", "A,B-C", "--", "node", "s.js")).toBe('--pass-env takes variable names, e.g. --pass-env API_KEY,REGION, got "A,B-C" (to set a value: -e KEY=VALUE)');
    expect(refused("https://h/mcp", "-e", "A=1")).toMatch(/^-e\/--env applies to a command after --/);
    expect(refused("server.js", "--pass-env", "A")).toMatch(/^--pass-env applies to a command after --/);
  });
});
