#!/usr/bin/env node
// node bench/echo-server.mjs stdio|http [--tools N] [--port P] [--json]
// --json: answer POSTs in JSON (the SDK's enableJsonResponse) instead of SSE.
// http prints `LISTENING <url>` on stdout once it serves streamable HTTP (sessions, one Server each) on 127.0.0.1.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { makeEchoServer } from "./lib/echo.mjs";

const args = process.argv.slice(2);
const mode = args[0] ?? "stdio";
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const extraTools = Number(opt("--tools", "0"));
// Exit through process.exit on signals, so `node --cpu-prof` writes its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

if (mode === "stdio") {
  // Exit when the parent closes our stdin (the SDK transport does not end the process by itself).
  process.stdin.on("end", () => process.exit(0));
  await makeEchoServer({ extraTools }).connect(new StdioServerTransport());
} else if (mode === "http") {
  await import("./lib/child-guard.mjs");
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    try {
      if (!req.url?.startsWith("/mcp")) return void res.writeHead(404).end();
      let body;
      if (req.method === "POST") {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      }
      const id = req.headers["mcp-session-id"];
      if (id) {
        const transport = sessions.get(id);
        if (!transport) return void res.writeHead(404).end();
        return await transport.handleRequest(req, res, body);
      }
      if (req.method !== "POST" || !isInitializeRequest(body)) return void res.writeHead(400).end();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: args.includes("--json"),
        onsessioninitialized: (sid) => sessions.set(sid, transport),
      });
      transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
      await makeEchoServer({ extraTools }).connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (error) {
      process.stderr.write(`echo-server: ${error?.stack ?? error}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  http.keepAliveTimeout = 60_000;
  await new Promise((resolve) => http.listen(Number(opt("--port", "0")), "127.0.0.1", resolve));
  process.stdout.write(`LISTENING http://127.0.0.1:${http.address().port}/mcp\n`);
} else {
  process.stderr.write(`usage: echo-server.mjs stdio|http [--tools N] [--port P]\n`);
  process.exit(2);
}
