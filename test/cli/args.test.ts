import { describe, expect, it } from "vitest";
import { DEFAULTS, USAGE, UsageError, main, parseCliArgs, type CliOptions } from "@fastmcp-proxy/cli";
import { refused } from "./refused.js";

/** The options of a command line that must parse as a run. */
function run(...argv: string[]): CliOptions {
  const command = parseCliArgs(argv);
  if (command.action !== "run") throw new Error(`expected a run, got ${command.action}`);
  return command.options;
}


describe("parseCliArgs: backends", () => {
  it("takes a URL, with the defaults for everything else", () => {
    expect(run("https://example.com/mcp")).toEqual({
      backend: { kind: "url", url: "https://example.com/mcp" },
      transport: "stdio",
      host: "127.0.0.1",
      port: 8000,
      path: "/mcp",
      name: undefined,
      stateless: false,
      resumable: false,
      logLevel: "info",
      logFormat: "plain",
      metrics: false,
      allowOrigins: [],
      allowedHosts: [],
      tls: undefined,
      readyWhen: "any",
      sessions: undefined,
      limits: {},
      cache: {},
    });
    expect(DEFAULTS).toMatchObject({ transport: "stdio", host: "127.0.0.1", port: 8000, path: "/mcp" });
  });

  it("takes a config file and a script", () => {
    expect(run("servers.json").backend).toEqual({ kind: "config", path: "servers.json" });
    expect(run("./conf/Servers.JSON").backend).toEqual({ kind: "config", path: "./conf/Servers.JSON" });
    expect(run("server.mjs").backend).toEqual({ kind: "script", path: "server.mjs" });
    expect(run("tools/server.py").backend).toEqual({ kind: "script", path: "tools/server.py" });
  });

  it("takes a command after --, passing everything after it through, options included", () => {
    expect(run("--", "node", "server.js", "--port", "3000", "--help", "-v").backend).toEqual({
      kind: "command",
      command: "node",
      args: ["server.js", "--port", "3000", "--help", "-v"],
    });
    const options = run("--transport", "http", "--port", "9000", "--", "npx", "-y", "pkg");
    expect(options.backend).toEqual({ kind: "command", command: "npx", args: ["-y", "pkg"] });
    expect(options).toMatchObject({ transport: "http", port: 9000 });
  });

  it("passes a lone -- or a literal -- inside the command through", () => {
    expect(run("--", "sh", "-c", "echo", "--", "x").backend).toEqual({ kind: "command", command: "sh", args: ["-c", "echo", "--", "x"] });
  });

  it("takes --demo", () => {
    expect(run("--demo").backend).toEqual({ kind: "demo" });
    expect(run("--demo", "--transport", "http")).toMatchObject({ backend: { kind: "demo" }, transport: "http", host: "127.0.0.1", port: 8000, path: "/mcp" });
  });

  it("accepts options before and after the backend", () => {
    expect(run("--transport", "http", "a.json", "--port", "1234")).toMatchObject({ backend: { kind: "config", path: "a.json" }, transport: "http", port: 1234 });
  });
});

describe("parseCliArgs: options", () => {
  it("parses every option, in both --opt value and --opt=value forms", () => {
    expect(
      run("x.json", "--transport", "http", "--host", "0.0.0.0", "--port", "0", "--path", "/api/mcp", "--name", "Gateway", "--stateless", "--resumable", "--log-level", "debug", "--log-format", "json", "--metrics",
        "--allow-origin", "https://a.example", "--allow-origin=https://b.example", "--timeout", "5000", "--always-ask-progress", "--init-timeout=7000", "--idle-timeout", "0", "--max-sessions", "3", "--max-body", "1024",
        "--tls-cert", "c.pem", "--tls-key=k.pem", "--ready-when", "all", "--sessions", "tenant", "--spare-sessions", "2", "--asking-sessions", "8"),
    ).toEqual({
      backend: { kind: "config", path: "x.json" },
      transport: "http",
      host: "0.0.0.0",
      port: 0,
      path: "/api/mcp",
      name: "Gateway",
      stateless: true,
      resumable: true,
      logLevel: "debug",
      logFormat: "json",
      metrics: true,
      allowOrigins: ["https://a.example", "https://b.example"],
      allowedHosts: [],
      tls: { certFile: "c.pem", keyFile: "k.pem" },
      readyWhen: "all",
      sessions: "tenant",
      limits: { timeoutMs: 5000, alwaysAskProgress: true, connectTimeoutMs: 7000, idleTimeoutMs: 0, maxSessions: 3, spareSessions: 2, askingSessions: 8, maxBodyBytes: 1024 },
      cache: {},
    });
    expect(run("x.json", "--transport=sse", "--port=65535", "--host=::1", "--log-level=warn")).toMatchObject({
      transport: "sse",
      port: 65535,
      host: "::1",
      logLevel: "warn",
    });
  });

  it("refuses limits that are not whole numbers, naming the option", () => {
    expect(() => run("x.json", "--timeout", "soon")).toThrow('--timeout must be a whole number from 1, got "soon"');
    expect(() => run("x.json", "--max-sessions", "0")).toThrow("--max-sessions must be a whole number from 1");
    expect(() => run("x.json", "--asking-sessions", "0")).toThrow("--asking-sessions must be a whole number from 1");
    expect(() => run("x.json", "--allow-origin", "https://a.example")).toThrow("--allow-origin applies only to an HTTP front");
  });

  it("takes every transport and log level", () => {
    for (const transport of ["stdio", "http", "sse"] as const) expect(run("x.json", "--transport", transport).transport).toBe(transport);
    for (const level of ["debug", "info", "warn", "error", "silent"] as const) expect(run("x.json", "--log-level", level).logLevel).toBe(level);
    for (const format of ["plain", "json", "pretty"] as const) expect(run("x.json", `--log-format=${format}`).logFormat).toBe(format);
  });

  it("allows --name on stdio, and the last of a repeated option wins", () => {
    expect(run("x.json", "--name", "A", "--name", "B")).toMatchObject({ transport: "stdio", name: "B" });
  });

  it("answers --help and -h with help, even next to other errors, but not after --", () => {
    expect(parseCliArgs(["--help"])).toEqual({ action: "help" });
    expect(parseCliArgs(["-h"])).toEqual({ action: "help" });
    expect(parseCliArgs(["--bogus", "--help"])).toEqual({ action: "help" });
    expect(parseCliArgs(["--", "server", "--help"])).toMatchObject({ action: "run" });
  });

  it("answers --version and -v", () => {
    expect(parseCliArgs(["--version"])).toEqual({ action: "version" });
    expect(parseCliArgs(["-v"])).toEqual({ action: "version" });
  });
});

describe("parseCliArgs: errors", () => {
  it("refuses a missing backend, saying what to give", () => {
    expect(refused()).toBe("missing backend: give a URL, a config file or a script, or a command after -- (see fastmcp-proxy --help)");
    expect(refused("--transport", "http")).toMatch(/^missing backend/);
    expect(refused("--")).toMatch(/^missing command after --/);
  });

  it("refuses an unknown option, naming it and pointing at --help", () => {
    expect(refused("x.json", "--bogus")).toMatch(/^unknown option --bogus: see fastmcp-proxy --help/);
    expect(refused("x.json", "-x")).toMatch(/^unknown option -x: see fastmcp-proxy --help/);
    expect(refused("--prot=80", "x.json")).toMatch(/^unknown option --prot\b/);
  });

  it("refuses an option without its value, or a flag with one", () => {
    expect(refused("x.json", "--transport", "http", "--port")).toBe("--port needs a value, e.g. --port=<value> (see fastmcp-proxy --help)");
    expect(refused("x.json", "--name", "--stateless")).toMatch(/^--name needs a value/);
    expect(refused("x.json", "--stateless=yes")).toBe("--stateless takes no value");
  });

  it("refuses bad values, saying which are allowed", () => {
    expect(refused("x.json", "--transport", "websocket")).toBe('--transport must be stdio, http or sse, got "websocket"');
    expect(refused("x.json", "--log-level", "verbose")).toBe('--log-level must be debug, info, warn, error or silent, got "verbose"');
    expect(refused("x.json", "--log-format", "text")).toBe('--log-format must be plain, json or pretty, got "text"');
    expect(refused("x.json", "--transport", "http", "--metrics=yes")).toBe("--metrics takes no value");
    expect(refused("x.json", "--transport", "http", "--port", "abc")).toMatch(/^--port must be a whole number from 0 to 65535.*got "abc"$/);
    expect(refused("x.json", "--transport", "http", "--port", "65536")).toMatch(/^--port must be a whole number/);
    expect(refused("x.json", "--transport", "http", "--port", "-1")).toMatch(/^--port needs a value/); // "-1" reads as an option
    expect(refused("x.json", "--transport", "http", "--port=-1")).toMatch(/^--port must be a whole number/);
    expect(refused("x.json", "--transport", "http", "--port", "80.5")).toMatch(/^--port must be a whole number/);
    expect(refused("x.json", "--transport", "http", "--path", "mcp")).toBe('--path must be a URL path starting with "/", e.g. --path /mcp, got "mcp"');
    expect(refused("x.json", "--transport", "http", "--host", "")).toBe("--host needs a non-empty value");
    expect(refused("x.json", "--name", " ")).toBe("--name needs a non-empty value");
  });

  it("refuses HTTP-only options on a stdio front, with the fix", () => {
    expect(refused("x.json", "--port", "9000")).toBe("--port applies only to an HTTP front: add --transport http (or sse)");
    expect(refused("x.json", "--host", "0.0.0.0", "--stateless")).toBe("--host, --stateless apply only to an HTTP front: add --transport http (or sse)");
    expect(refused("x.json", "--transport", "stdio", "--path", "/x")).toMatch(/^--path applies only to an HTTP front/);
    expect(refused("x.json", "--metrics")).toBe("--metrics applies only to an HTTP front: add --transport http (or sse)");
  });

  it("refuses an MCP --path that /healthz, /readyz or (with --metrics) /metrics takes", () => {
    expect(refused("x.json", "--transport", "http", "--path", "/healthz")).toBe("--path /healthz is taken by the health endpoint: choose another, e.g. --path /mcp");
    expect(refused("x.json", "--transport", "sse", "--path", "/readyz")).toMatch(/^--path \/readyz is taken by the health endpoint/);
    expect(refused("x.json", "--transport", "http", "--metrics", "--path", "/metrics")).toMatch(/^--path \/metrics is taken by the metrics endpoint/);
    expect(run("x.json", "--transport", "http", "--path", "/metrics").path).toBe("/metrics");
  });

  it("refuses two backends", () => {
    expect(refused("a.json", "b.json")).toMatch(/^give one backend, got 2: "a.json", "b.json"/);
    expect(refused("node", "server.js")).toMatch(/put its command after --: fastmcp-proxy -- node server.js$/);
    expect(refused("a.json", "--", "node", "s.js")).toBe('give one backend, not "a.json" and a command after --');
    expect(refused("--demo", "a.json")).toBe('give one backend, not --demo and "a.json"');
    expect(refused("--demo", "--", "node")).toBe("give one backend, not --demo and a command after --");
  });

  it("refuses a backend it cannot classify, suggesting --", () => {
    expect(refused("my-server")).toBe(
      'cannot tell how to reach "my-server": give an http(s):// URL, a config file (.json), a script, or put a command after --: fastmcp-proxy -- my-server',
    );
    expect(refused("ws://example.com/mcp")).toBe('"ws://example.com/mcp" is not an http:// or https:// URL');
    expect(refused("http://exa mple.com/")).toBe('"http://exa mple.com/" is not a valid URL');
  });
});

describe("main, in process", () => {
  async function call(...argv: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    return { code, stdout, stderr };
  }

  it("prints help on stdout and exits 0", async () => {
    expect(await call("--help")).toEqual({ code: 0, stdout: USAGE, stderr: "" });
    expect(USAGE).toMatch(/^Usage:\n {2}fastmcp-proxy <URL \| config\.json \| script> \[options\]/);
    for (const option of ["--transport", "--host", "--port", "--path", "--name", "--stateless", "--log-level", "--log-format", "--metrics", "--demo", "--help", "--version", "-- <command>"]) {
      expect(USAGE).toContain(option);
    }
  });

  it("prints the package version on stdout and exits 0", async () => {
    expect(await call("--version")).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
  });

  it("prints a usage error as one line on stderr and exits 2", async () => {
    expect(await call("--bogus")).toEqual({
      code: 2,
      stdout: "",
      stderr: "fastmcp-proxy: unknown option --bogus: see fastmcp-proxy --help (options meant for a stdio server go after --, with its command)\n",
    });
  });
});
