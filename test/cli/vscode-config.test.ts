// Config files written for VS Code (`servers`, `${env:NAME}`, `${input:id}`) and other MCP clients
// (`autoApprove`, ...), served by the built CLI: variables expanded, prompts refused with the fix,
// fields the proxy does not act on named.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { FIXTURE, runCli, startCli, stopAll } from "./process.js";

const dir = mkdtempSync(join(tmpdir(), "fastmcp-proxy-vscode-"));
afterEach(stopAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

const fixture = (extra: Record<string, unknown>) => ({ type: "stdio", command: process.execPath, args: [FIXTURE, "stdio"], ...extra });

async function greeting(path: string, env: NodeJS.ProcessEnv) {
  const cli = startCli([path], { env });
  const client = await cli.connectStdio();
  const result = (await client.callTool({ name: "whoami", arguments: {} })) as { content: { text: string }[] };
  return { env: JSON.parse(result.content[0]!.text).env as string | null, stderr: cli.stderr() };
}

describe("a VS Code config (.vscode/mcp.json)", () => {
  it("expands ${env:NAME} into the server's environment", async () => {
    const path = configFile("env.json", { inputs: [], servers: { fixture: fixture({ env: { FIXTURE_GREETING: "hi ${env:GREETING_SOURCE}" } }) } });
    expect((await greeting(path, { ...process.env, GREETING_SOURCE: "from vscode" })).env).toBe("hi from vscode");
  });

  it("refuses ${input:...}, saying how to pass the value instead", async () => {
    const path = configFile("input.json", { servers: { fixture: fixture({ env: { API_KEY: "${input:api-key}" } }) } });
    const { code, stderr } = await runCli([path]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      'server "fixture", field "env.API_KEY": ${input:api-key} is a VS Code prompt, which the proxy cannot show: put the value in an environment variable (say API_KEY) and write ${env:API_KEY} instead',
    );
  });

  it("an ${env:NAME} that is not set is named", async () => {
    const path = configFile("unset.json", { servers: { fixture: fixture({ env: { X: "${env:SURELY_NOT_SET_HERE}" } }) } });
    const { code, stderr } = await runCli([path]);
    expect(code).toBe(1);
    expect(stderr).toContain("environment variable SURELY_NOT_SET_HERE is not set");
  });
});

describe("fields other MCP clients read", () => {
  it("are warned about, and the server is served", async () => {
    const path = configFile("client-fields.json", {
      mcpServers: { fixture: fixture({ autoApprove: ["echo"], envFile: ".env", env: { FIXTURE_GREETING: "served" } }) },
    });
    const { env, stderr } = await greeting(path, process.env);
    expect(env).toBe("served");
    expect(stderr).toContain('config: server "fixture" has "autoApprove", which other MCP clients read; the proxy ignores it (tool calls are approved by the client, not the proxy)');
    expect(stderr).toContain('config: server "fixture" has "envFile", which other MCP clients read; the proxy ignores it (give the variables in "env" instead)');
  });
});
