// Core's stderr logger: levels, format, and no credentials in what it prints.
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { FastMCPProxy, type LogLevel, stderrLogger } from "@fastmcp-proxy/core";

const FIXTURE = fileURLToPath(new URL("../fixtures/fixture-server.mjs", import.meta.url));

function capture(level: LogLevel = "debug") {
  const lines: string[] = [];
  return { logger: stderrLogger(level, (line) => void lines.push(line)), lines, text: () => lines.join("") };
}

describe("stderrLogger", () => {
  it("writes one prefixed line per message, from its level up, with fields as JSON", () => {
    const { logger, lines } = capture("info");
    logger.debug("hidden");
    logger.info("started", { backends: 2 });
    logger.warn("careful");
    logger.error("failed");
    expect(lines).toEqual(['[fastmcp-proxy] info: started {"backends":2}\n', "[fastmcp-proxy] warn: careful\n", "[fastmcp-proxy] error: failed\n"]);
    const silent = capture("silent");
    silent.logger.error("nothing");
    expect(silent.lines).toEqual([]);
  });

  it("scrubs the user and password of a backend URL, and secret query values", () => {
    const { logger, lines } = capture();
    logger.warn("backend backend (http://alice:pa55word@127.0.0.1:9/mcp?token=tok-SECRET-1&mode=fast) left out: fetch failed");
    expect(lines).toEqual(["[fastmcp-proxy] warn: backend backend (http://[REDACTED]@127.0.0.1:9/mcp?token=[REDACTED]&mode=fast) left out: fetch failed\n"]);
  });

  it("scrubs key=, secret=, password= and their variants, and a token alone as userinfo", () => {
    const { logger, text } = capture();
    logger.info("https://ghp_SECRET2abcdef@github.example/x.git");
    logger.info("GET /mcp?api_key=SECRET3&x=1&key=SECRET4;secret=SECRET5 and client_secret=SECRET6, password=SECRET7 access_token=SECRET8");
    expect(text()).not.toMatch(/SECRET\d/);
    expect(text()).toContain("https://[REDACTED]@github.example/x.git");
    expect(text()).toContain("?api_key=[REDACTED]&x=1&key=[REDACTED];secret=[REDACTED]");
    // the value ends where the URL does: the sentence around it is kept
    logger.warn("backend (http://h/mcp?token=SECRET20) failed: http://h/mcp?key=SECRET21: check it, or ?sig=a.b.SECRET22.");
    expect(text()).toContain("backend (http://h/mcp?token=[REDACTED]) failed: http://h/mcp?key=[REDACTED]: check it, or ?sig=[REDACTED].\n");
    expect(text()).not.toMatch(/SECRET\d/);
  });

  it("scrubs bearer and basic credentials and JWTs, leaving ordinary words alone", () => {
    const { logger, text } = capture();
    const basic = Buffer.from("bob:SECRET9").toString("base64");
    logger.error(`401 from backend: sent "Authorization: Bearer SECRET10.abc-def_ghi" and "Basic ${basic}"`);
    logger.warn("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQxMSJ9.c2lnbmF0dXJl expired");
    logger.info("Basic usage: the bearer of good news");
    expect(text()).not.toMatch(/SECRET\d/);
    expect(text()).not.toContain(basic);
    expect(text()).not.toContain("eyJzdWIiOiJTRUNSRVQxMSJ9");
    expect(text()).toContain('sent "Authorization: Bearer [REDACTED]" and "Basic [REDACTED]"');
    expect(text()).toContain("[fastmcp-proxy] info: Basic usage: the bearer of good news\n");
  });

  it("redacts credential fields and scrubs credentials inside the other fields", () => {
    const { logger, lines } = capture();
    logger.warn("request failed", {
      url: "http://u:SECRET12@127.0.0.1/mcp?secret=SECRET13",
      headers: { Authorization: "Bearer SECRET14", "x-api-key": "SECRET15", cookie: "sid=SECRET16", accept: "application/json" },
      password: "SECRET17",
      progressToken: 3,
      attempt: 2,
    });
    const line = lines[0]!;
    expect(line).not.toMatch(/SECRET\d/);
    expect(JSON.parse(line.slice(line.indexOf("{")))).toEqual({
      url: "http://[REDACTED]@127.0.0.1/mcp?secret=[REDACTED]",
      headers: { Authorization: "[REDACTED]", "x-api-key": "[REDACTED]", cookie: "[REDACTED]", accept: "application/json" },
      password: "[REDACTED]",
      progressToken: 3,
      attempt: 2,
    });
  });

  it("keeps credentials out of the proxy's own warnings about a backend URL", async () => {
    // One reachable backend and one unreachable URL with credentials: start() warns that the
    // second was left out, naming its URL.
    const { logger, text } = capture("warn");
    const proxy = FastMCPProxy.asProxy(
      { mcpServers: { good: { command: process.execPath, args: [FIXTURE, "stdio"] }, bad: { url: "http://user:SECRET18@127.0.0.1:1/mcp?token=SECRET19" } } },
      { logger },
    );
    try {
      await proxy.start();
    } finally {
      await proxy.close();
    }
    expect(text()).toMatch(/warn: backend .*left out/);
    expect(text()).toContain("127.0.0.1:1/mcp");
    expect(text()).not.toMatch(/SECRET\d/);
  });
});

describe("configured secrets", () => {
  it("scrubs a value a config put into a header or env from every later log line", async () => {
    const { parseConfig } = await import("@fastmcp-proxy/core/advanced");
    const { stderrLogger } = await import("@fastmcp-proxy/core");
    parseConfig({ mcpServers: { s: { url: "http://127.0.0.1:1/mcp", headers: { "x-custom": "${SECRET_FOR_TEST}" } } } }, { env: { SECRET_FOR_TEST: "plain-words-secret-42" } });
    const lines: string[] = [];
    stderrLogger("debug", (line) => void lines.push(line)).warn("backend said: plain-words-secret-42 is wrong");
    expect(lines.join("")).not.toContain("plain-words-secret-42");
    expect(lines.join("")).toContain("[REDACTED]");
  });
});
