// What the built CLI says, and how it exits, when it cannot run: one line on stderr, with the fix.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, STACK_FRAME, marker, killTagged, noneLeft, runCli, stopAll } from "./process.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fastmcp-proxy-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

function config(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

/** Exactly one line on stderr, no stack trace, nothing on stdout. */
function expectOneLine(result: { stdout: string; stderr: string }): string {
  expect(result.stdout).toBe("");
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr.endsWith("\n")).toBe(true);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^fastmcp-proxy: /);
  return lines[0]!;
}

describe("command-line errors exit 2", () => {
  it("no backend", async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(expectOneLine(result)).toBe("fastmcp-proxy: missing backend: give a URL, a config file or a script, or a command after -- (see fastmcp-proxy --help)");
  });

  it("an unknown option, named, pointing at --help", async () => {
    const result = await runCli(["--verbose", "x.json"]);
    expect(result.code).toBe(2);
    expect(expectOneLine(result)).toMatch(/^fastmcp-proxy: unknown option --verbose: see fastmcp-proxy --help/);
  });

  it("a bad option value", async () => {
    const result = await runCli(["x.json", "--transport", "websocket"]);
    expect(result.code).toBe(2);
    expect(expectOneLine(result)).toBe('fastmcp-proxy: --transport must be stdio, http or sse, got "websocket"');
  });

  it("an HTTP option on a stdio front", async () => {
    const result = await runCli(["x.json", "--port", "9000"]);
    expect(result.code).toBe(2);
    expect(expectOneLine(result)).toBe("fastmcp-proxy: --port applies only to an HTTP front: add --transport http (or sse)");
  });

  it("a script of a kind core cannot run", async () => {
    const script = config("server.rb", "puts 1");
    const result = await runCli([script]);
    expect(result.code).toBe(2);
    expect(expectOneLine(result)).toMatch(/^fastmcp-proxy: cannot tell how to reach ".*server\.rb": .*a command after --$/);
  });
});

describe("runtime failures exit 1", () => {
  it("a config whose server has neither command nor url names the server and the fields", async () => {
    const path = config("no-command.json", { mcpServers: { weather: { args: ["server.js"] } } });
    const result = await runCli([path]);
    expect(result.code).toBe(1);
    expect(expectOneLine(result)).toBe(
      `fastmcp-proxy: Invalid config: ${path}: server "weather": needs "command" (a stdio server) or "url" (an HTTP or SSE server)`,
    );
  });

  it("a config with a bad field names the server and the field", async () => {
    const path = config("bad-url.json", { mcpServers: { good: { command: "node", args: ["x.js"] }, calendar: { url: "ftp://example.com/mcp" } } });
    const result = await runCli([path, "--transport", "http", "--port", "0"]);
    expect(result.code).toBe(1);
    expect(expectOneLine(result)).toBe(`fastmcp-proxy: Invalid config: ${path}: server "calendar", field "url": must be an http:// or https:// URL`);
  });

  it("a config file that is not JSON, or missing", async () => {
    const broken = config("broken.json", "{ mcpServers: ");
    const notJson = await runCli([broken]);
    expect(notJson.code).toBe(1);
    expect(expectOneLine(notJson)).toMatch(new RegExp(`^fastmcp-proxy: Invalid config: ${broken} is not valid JSON: `));

    const missing = join(dir, "missing.json");
    const absent = await runCli([missing]);
    expect(absent.code).toBe(1);
    expect(expectOneLine(absent)).toMatch(new RegExp(`^fastmcp-proxy: Invalid config: cannot read ${missing}: ENOENT`));
  });

  it("a missing script", async () => {
    const result = await runCli([join(dir, "nowhere.mjs")]);
    expect(result.code).toBe(1);
    expect(expectOneLine(result)).toMatch(/^fastmcp-proxy: cannot find the script ".*nowhere\.mjs": check the path/);
  });

  it("an unreachable URL", async () => {
    const result = await runCli(["http://127.0.0.1:1/mcp"]);
    expect(result.code).toBe(1);
    expect(expectOneLine(result)).toMatch(
      /^fastmcp-proxy: Backend "backend" \(http:\/\/127\.0\.0\.1:1\/mcp\) is unavailable: .+: check that the server is running and the URL is right$/,
    );
  });

  it("a command that does not exist", async () => {
    const result = await runCli(["--", "fastmcp-proxy-no-such-command"]);
    expect(result.code).toBe(1);
    expect(expectOneLine(result)).toMatch(/^fastmcp-proxy: Backend "backend" \(stdio "fastmcp-proxy-no-such-command"\) is unavailable: spawn fastmcp-proxy-no-such-command ENOENT: check the command/);
  });

  describe("a port in use", () => {
    let blocker: Server;
    let port: number;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      port = (blocker.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    it("says which port and how to choose another, and leaves no backend behind", async () => {
      const tag = marker();
      // The backend is started (and its tools listed) before the port is bound: it must be ended too.
      try {
        const result = await runCli(["--transport", "http", "--port", String(port), "--", ...FIXTURE_STDIO, "0", tag]);
        expect(result.code).toBe(1);
        expect(expectOneLine(result)).toBe(`fastmcp-proxy: Port ${port} on 127.0.0.1 is in use: choose another with --port`);
        expect(await noneLeft(tag)).toEqual([]);
      } finally {
        killTagged(tag);
      }
    });
  });
});

describe("help and version exit 0 on stdout", () => {
  it("--help", async () => {
    const result = await runCli(["--help"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^Usage:\n {2}fastmcp-proxy <URL \| config\.json \| script> \[options\]\n {2}fastmcp-proxy \[options\] -- <command> \[args\.\.\.\]/);
  });

  it("--version", async () => {
    expect(await runCli(["--version"])).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
  });
});
