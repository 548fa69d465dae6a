// A raw streamable HTTP session with a bearer token, for the auth benchmarks (bench/auth.mjs and
// its flood process): initialize, notifications/initialized, then one tools/call per call().
import http from "node:http";
import { ECHO_CALL, PROTOCOL_VERSION } from "./load.mjs";

export function post(agent, url, body, headers) {
  return new Promise((resolve, reject) => {
    const data = typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "content-length": Buffer.byteLength(data), ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** One session's tools/call; with `limited` (an object counting them), a 429 is an answer too (a flooding caller's). */
export async function session(target, agent, limited = false) {
  const url = new URL(target.resource);
  const init = await post(agent, url, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "bench-auth", version: "1" } } }, target.headers);
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status} ${init.body.slice(0, 200)}`);
  const headers = { ...target.headers, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL_VERSION };
  await post(agent, url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  let id = 1;
  const body = (n) => `{"jsonrpc":"2.0","id":${n},"method":"tools/call","params":${JSON.stringify(ECHO_CALL.params)}}`;
  return async () => {
    const n = id++;
    const res = await post(agent, url, body(n), headers);
    if (limited && res.status === 429) return void (limited.refused = (limited.refused ?? 0) + 1);
    if (res.status !== 200 || !res.body.includes('"result"')) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  };
}
