// --tls-cert / --tls-key: the built CLI serves its HTTP front over HTTPS, with a certificate made
// here by openssl (self-signed for 127.0.0.1); the client trusts that certificate alone.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, runCli, startCli, stopAll } from "./process.js";
import { refused } from "./refused.js";

afterEach(stopAll);

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(hasOpenssl)("--tls-cert and --tls-key", () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fmp-tls-"));
    cert = join(dir, "cert.pem");
    key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serve the MCP endpoint over HTTPS, answering an initialize", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--tls-cert", cert, "--tls-key", key, "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(/serving streamable HTTP on (https:\/\/\S+)/);
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "tls", version: "1" } } });
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(url!, { method: "POST", ca: readFileSync(cert), headers: { "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"serverInfo"');
  });

  it("refuse one without the other, and a file that cannot be read, saying which", async () => {
    expect(refused("--transport", "http", "--tls-cert", cert, "--", "x")).toMatch(/--tls-cert needs --tls-key/);
    expect(refused("--transport", "http", "--tls-key", key, "--", "x")).toMatch(/--tls-key needs --tls-cert/);
    expect(refused("--tls-cert", cert, "--tls-key", key, "--", "x")).toMatch(/only to an HTTP front/);
    const missing = await runCli(["--transport", "http", "--port", "0", "--tls-cert", join(dir, "none.pem"), "--tls-key", key, "--", ...FIXTURE_STDIO]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--tls-cert .*none\.pem: cannot read it \(ENOENT\)/);
  });
});
