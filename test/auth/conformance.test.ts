// The external conformance suite's client auth scenarios (@modelcontextprotocol/conformance
// 0.2.0-alpha.12, `client --scenario auth/*`) with the proxy as the client under test.
//
// For each scenario the runner starts its server and runs conformance-relay.mjs, which hands the
// server URL and the scenario's context to this process. Here the proxy gets that server as its
// only backend, with credentials from the context in its backend auth. For the authorization
// code scenarios, an operator runs `login` first, and this process plays the browser (also for a
// sign-in the backend asks for while the proxy runs). Then a front client lists the tools through
// the proxy and calls the first one; a request that needed a new sign-in is retried once.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { silentLogger } from "@fastmcp-proxy/core/advanced";
import { backendAuth, login, type BackendAuthSpec } from "@fastmcp-proxy/auth";
import { connectClient } from "../helpers.js";

const CLI = join(dirname(createRequire(import.meta.url).resolve("conformance-next/package.json")), "dist", "index.js");
const SHIM = fileURLToPath(new URL("../eras/globsync-shim.mjs", import.meta.url));
const RELAY = fileURLToPath(new URL("./conformance-relay.mjs", import.meta.url));
const CIMD_URL = "https://conformance-test.local/client-metadata.json";

/** Every scenario of the suite's auth list that is on the spec timeline (extensions apart). */
const SCENARIOS = [
  "auth/metadata-default",
  "auth/metadata-var1",
  "auth/metadata-var2",
  "auth/metadata-var3",
  "auth/basic-cimd",
  "auth/scope-from-www-authenticate",
  "auth/scope-from-scopes-supported",
  "auth/scope-omitted-when-undefined",
  "auth/scope-step-up",
  "auth/scope-retry-limit",
  "auth/token-endpoint-auth-basic",
  "auth/token-endpoint-auth-post",
  "auth/token-endpoint-auth-none",
  "auth/pre-registration",
  "auth/2025-03-26-oauth-metadata-backcompat",
  "auth/2025-03-26-oauth-endpoint-fallback",
  "auth/resource-mismatch",
  "auth/offline-access-scope",
  "auth/offline-access-not-supported",
  "auth/authorization-server-migration",
  // The same scenario on the 2025-11-25 wire (forced): the move to another authorization server, apart from the era.
  "auth/authorization-server-migration@2025-11-25",
  "auth/iss-supported",
  "auth/iss-not-advertised",
  "auth/iss-supported-missing",
  "auth/iss-wrong-issuer",
  "auth/iss-unexpected",
  "auth/iss-normalized",
  "auth/metadata-issuer-mismatch",
  "auth/client-credentials-basic",
  "auth/client-credentials-jwt",
];

/** The browser: follows the authorization server's redirect to the login's loopback callback. */
async function browser(url: URL): Promise<void> {
  const approved = await fetch(url, { redirect: "manual" });
  const location = approved.headers.get("location");
  if (!location) throw new Error(`the authorization server answered ${approved.status} without a redirect`);
  await (await fetch(new URL(location, url))).text();
}

/** One scenario through the proxy; resolves with a log, rejects when the client side failed. */
async function drive(serverUrl: string, scenario: string, context: Record<string, string>, protocolVersion: string | undefined): Promise<string> {
  const log: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "conformance-auth-"));
  try {
    let spec: BackendAuthSpec;
    if (scenario === "auth/client-credentials-basic") {
      spec = { type: "client_credentials", clientId: context.client_id as string, clientSecret: context.client_secret as string };
    } else if (scenario === "auth/client-credentials-jwt") {
      spec = { type: "private_key_jwt", clientId: context.client_id as string, privateKey: context.private_key_pem as string, algorithm: context.signing_algorithm ?? "ES256" };
    } else {
      const tokenFile = join(dir, "tokens.json");
      const client = { ...(context.client_id ? { clientId: context.client_id } : {}), ...(context.client_secret ? { clientSecret: context.client_secret } : {}) };
      await login("server", { serverUrl, tokenFile, open: browser, timeoutMs: 15_000, clientMetadataUrl: CIMD_URL, ...client });
      log.push(`logged in, tokens in ${tokenFile}`);
      spec = { type: "authorization_code", tokenFile, ...client };
    }
    // The backend is spoken to in the scenario's protocol era.
    const protocol = protocolVersion === "2026-07-28" ? { protocol: "2026-07-28" as const } : {};
    // A request that needed a new sign-in fails with "retry the request"; the retry goes through.
    const retrying = <T,>(what: string, request: () => Promise<T>) =>
      request().catch((error: Error) => {
        if (!/retry the request/.test(error.message)) throw error;
        log.push(`${what}, first try: ${error.message}`);
        return request();
      });
    // The proxy itself is started again when its start needed the sign-in, as an operator would.
    await retrying("start", async () => {
      const proxy = FastMCPProxy.asProxy({ mcpServers: { server: { url: serverUrl, ...protocol } } }, { logger: silentLogger });
      // A new authorization the server asks for while the proxy runs goes to the operator: this process is the browser.
      proxy.credentials(backendAuth({ server: spec }, { signIn: (_, url) => browser(url) }));
      try {
        await proxy.start();
        const client = await connectClient(proxy);
        const { tools } = await retrying("tools/list", () => client.listTools());
        log.push(`tools: ${tools.map((t) => t.name).join(", ")}`);
        if (tools[0]) log.push(`called ${tools[0].name}: ${JSON.stringify(await retrying("tools/call", () => client.callTool({ name: tools[0]!.name, arguments: {} })))}`);
        await client.close();
      } finally {
        await proxy.close();
      }
    });
    return log.join("\n");
  } catch (error) {
    // What happened before the failure, for the runner's output.
    throw new Error(`${[...log, ""].join("\n")}${(error as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let driver: Server;
let driverPort = 0;
beforeAll(async () => {
  driver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c)).on("end", async () => {
      const { serverUrl, scenario, context, protocolVersion } = JSON.parse(body) as { serverUrl: string; scenario: string; context: Record<string, string>; protocolVersion?: string };
      const outcome = await drive(serverUrl, scenario, context, protocolVersion).then(
        (log) => ({ ok: true, log }),
        (error: Error) => ({ ok: false, log: `drive failed: ${error.message}` }),
      );
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(outcome));
    });
  });
  await new Promise<void>((resolve) => driver.listen(0, "127.0.0.1", resolve));
  driverPort = (driver.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => driver.close(() => resolve())));

interface Outcome {
  passed: number;
  failed: number;
  output: string;
}

/** Runs one scenario with the suite's CLI (bounded: killed by PID after 60 s). */
function runScenario(entry: string): Promise<Outcome> {
  const [scenario, version] = entry.split("@") as [string, string | undefined];
  const wire = version ? ["--spec-version", version, "--force"] : [];
  const child = spawn(process.execPath, ["--import", SHIM, CLI, "client", "--command", `${process.execPath} ${RELAY} ${driverPort}`, "--scenario", scenario, ...wire, "--timeout", "45000"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c));
  child.stderr.on("data", (c: Buffer) => (output += c));
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 60_000);
  return new Promise((resolve) => {
    child.once("close", () => {
      clearTimeout(timer);
      const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
      resolve({ passed: summary ? Number(summary[1]) : 0, failed: summary ? Number(summary[3]) : 1, output });
    });
  });
}

describe("conformance client auth scenarios through the proxy", () => {
  it.each(SCENARIOS)("%s", async (scenario) => {
    const outcome = await runScenario(scenario);
    console.log(`${scenario}: ${outcome.passed} passed, ${outcome.failed} failed`);
    if (process.env.CONFORMANCE_DEBUG) console.log(outcome.output);
    expect(outcome.failed, outcome.output.slice(-3000)).toBe(0);
    // No warning either, and the client side (the drive) succeeded where the scenario expects it to.
    expect(outcome.output, outcome.output.slice(-3000)).toContain("OVERALL: PASSED");
  }, 90_000);
});
