// The external conformance suite's client auth scenarios (@modelcontextprotocol/conformance
// 0.2.0-alpha.12, `client --scenario auth/*`, and SEP-990's scenario under its 0.1.14–0.1.16 name,
// cross-app-access-complete-flow, as well) with the `fastmcp-proxy` command as the client under test.
//
// For each scenario the runner starts its server and runs conformance-relay.mjs, which hands the
// server URL and the scenario's context to this process. Here, as a user would: a config file
// names that server as the only backend, with its `auth` section from the context; for the
// authorization code scenarios `fastmcp-proxy auth login` runs first, and this process plays the
// browser for the URL it prints (and for any sign-in the running proxy asks for on stderr). Then
// `fastmcp-proxy config.json --transport http` serves it, and a front client lists the tools
// through it and calls the first one; a request that needed a new sign-in is retried once.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVING_HTTP, startCli, type CliProcess } from "../cli/process.js";

/** The suite's runner in an installed package. */
const runnerOf = (name: string) => join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), "dist", "index.js");
const NEXT = runnerOf("conformance-next");
/** SEP-990's scenario as named in 0.1.14–0.1.16 (0.2.0-alpha.12 calls it auth/enterprise-managed-authorization). */
const XAA = runnerOf("conformance-xaa");
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
  // SEP-990 under its 0.2 name (an extension): the same flow as 0.1.16's cross-app-access-complete-flow.
  "auth/enterprise-managed-authorization",
  // The extensions for DPoP (SEP-1932), with and without nonces, and for workload identity (SEP-1933).
  "auth/dpop",
  "auth/dpop-nonce",
  "auth/wif-jwt-bearer",
];
/** Run with the 0.1.16 runner (XAA). */
const XAA_SCENARIOS = ["auth/cross-app-access-complete-flow"];

/** The browser: follows the authorization server's redirect to the login's loopback callback. */
async function browser(url: URL): Promise<void> {
  const approved = await fetch(url, { redirect: "manual" });
  const location = approved.headers.get("location");
  if (!location) throw new Error(`the authorization server answered ${approved.status} without a redirect`);
  await (await fetch(new URL(location, url))).text();
}

/** The backend's `auth` section, from what the scenario gives. */
function authFor(scenario: string, context: Record<string, string>, dir: string): Record<string, unknown> {
  const tokenFile = join(dir, "tokens.json");
  const client = { ...(context.client_id ? { clientId: context.client_id } : {}), ...(context.client_secret ? { clientSecret: context.client_secret } : {}) };
  switch (scenario) {
    case "auth/client-credentials-basic":
      return { type: "client_credentials", ...client };
    case "auth/client-credentials-jwt":
      return { type: "private_key_jwt", clientId: context.client_id, privateKey: context.private_key_pem, algorithm: context.signing_algorithm ?? "ES256" };
    case "auth/cross-app-access-complete-flow":
    case "auth/enterprise-managed-authorization":
      // One user's ID token for every caller: the operator's, as from an SSO login.
      return { type: "id_jag", idpTokenEndpoint: context.idp_token_endpoint, idpClientId: context.idp_client_id, idToken: context.idp_id_token, ...client };
    case "auth/dpop":
    case "auth/dpop-nonce":
      return { type: "authorization_code", tokenFile, clientMetadataUrl: CIMD_URL, dpop: true };
    case "auth/wif-jwt-bearer": {
      // The workload's JWT where a platform would put it: a file.
      const jwt = join(dir, "workload.jwt");
      writeFileSync(jwt, context.valid_jwt ?? "");
      return { type: "workload_identity", clientId: context.client_id, tokenFile: jwt };
    }
    default:
      return { type: "authorization_code", tokenFile, clientMetadataUrl: CIMD_URL, ...client };
  }
}

/** Plays the browser for every sign-in URL the running proxy prints on stderr. */
function answerSignIns(cli: CliProcess, log: string[]): void {
  let seen = 0;
  cli.child.stderr.on("data", () => {
    const asked = [...cli.stderr().matchAll(/asks you to sign in again: open (\S+)/g)];
    for (const [, url] of asked.slice(seen)) {
      log.push("the proxy asked for a new sign-in");
      browser(new URL(url as string)).catch((error: Error) => log.push(`sign-in failed: ${error.message}`));
    }
    seen = asked.length;
  });
}

/** `fastmcp-proxy auth login server config.json`, this process being the browser. */
async function cliLogin(config: string, log: string[]): Promise<void> {
  const cli = startCli(["auth", "login", "server", config]);
  try {
    const [, url] = await cli.waitForStderr(/sign in to "server":\n {2}(\S+)\n/, 150_000);
    await browser(new URL(url as string));
    const exit = await cli.exited(60_000);
    if (exit.code !== 0) throw new Error(`auth login exited ${exit.code}`);
    log.push("logged in");
  } catch (error) {
    throw new Error(`${(error as Error).message.split("\n")[0]}\nauth login's stderr:\n${cli.stderr()}`);
  } finally {
    await stop(cli);
  }
}

async function stop(cli: CliProcess): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill("SIGTERM");
  await cli.exited(8_000).catch(() => cli.child.kill("SIGKILL"));
}

/** One scenario through the CLI; resolves with a log, rejects when the client side failed. */
async function drive(serverUrl: string, scenario: string, context: Record<string, string>, protocolVersion: string | undefined): Promise<string> {
  const log: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "conformance-auth-"));
  try {
    const auth = authFor(scenario, context, dir);
    // The backend is spoken to in the scenario's protocol era.
    const protocol = protocolVersion === "2026-07-28" ? { protocol: "2026-07-28" } : {};
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ mcpServers: { server: { url: serverUrl, ...protocol, auth } } }));
    if (auth.type === "authorization_code") await cliLogin(config, log);
    // A request that needed a new sign-in fails with "retry the request"; the retry goes through.
    const retrying = <T,>(what: string, request: () => Promise<T>) =>
      request().catch((error: Error) => {
        if (!/retry the request/.test(error.message)) throw error;
        log.push(`${what}, first try: ${error.message}`);
        return request();
      });
    // The proxy is started again when its start needed the sign-in, as an operator would.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const proxy = startCli(["--transport", "http", "--port", "0", config]);
      answerSignIns(proxy, log);
      try {
        const served = await proxy.waitForStderr(SERVING_HTTP, 150_000).catch((error: Error) => {
          if (attempt === 1 && /retry the request/.test(proxy.stderr())) return undefined;
          throw error;
        });
        if (!served) {
          log.push("start needed a sign-in; starting again");
          continue;
        }
        const client = new Client({ name: "conformance-front", version: "1" });
        await client.connect(new StreamableHTTPClientTransport(new URL(served[1] as string)));
        try {
          const { tools } = await retrying("tools/list", () => client.listTools());
          log.push(`tools: ${tools.map((t) => t.name).join(", ")}`);
          if (tools[0]) log.push(`called ${tools[0].name}: ${JSON.stringify(await retrying("tools/call", () => client.callTool({ name: tools[0]!.name, arguments: {} })))}`);
        } finally {
          await client.close();
        }
        return log.join("\n");
      } catch (error) {
        throw new Error(`${(error as Error).message.split("\n")[0]}\nthe proxy's stderr:\n${proxy.stderr()}`);
      } finally {
        await stop(proxy);
      }
    }
    throw new Error("the proxy did not start");
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

/** Runs one scenario with the suite's runner (bounded: killed by PID after 260 s). */
function runScenario(entry: string, runner: string): Promise<Outcome> {
  const [scenario, version] = entry.split("@") as [string, string | undefined];
  const wire = version ? ["--spec-version", version, "--force"] : [];
  const child = spawn(process.execPath, ["--import", SHIM, runner, "client", "--command", `${process.execPath} ${RELAY} ${driverPort}`, "--scenario", scenario, ...wire, "--timeout", "240000"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c));
  child.stderr.on("data", (c: Buffer) => (output += c));
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 260_000);
  return new Promise((resolve) => {
    child.once("close", () => {
      clearTimeout(timer);
      const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
      resolve({ passed: summary ? Number(summary[1]) : 0, failed: summary ? Number(summary[3]) : 1, output });
    });
  });
}

const RUNS = [...SCENARIOS.map((scenario) => [scenario, NEXT]), ...XAA_SCENARIOS.map((scenario) => [scenario, XAA])] as [string, string][];

// Concurrent (vitest's maxConcurrency, 5): each scenario mostly waits on its processes. The
// bounds are generous because a loaded machine starts a node process in seconds, not in 0.3 s.
describe.concurrent("conformance client auth scenarios through the fastmcp-proxy command", () => {
  it.for(RUNS)("%s", { timeout: 300_000 }, async ([scenario, runner], { expect }) => {
    const outcome = await runScenario(scenario, runner);
    console.log(`${scenario}: ${outcome.passed} passed, ${outcome.failed} failed`);
    if (process.env.CONFORMANCE_DEBUG) console.log(outcome.output);
    expect(outcome.failed, outcome.output.slice(-3000)).toBe(0);
    // No warning either, and the client side (the drive) succeeded where the scenario expects it to.
    expect(outcome.output, outcome.output.slice(-3000)).toContain("OVERALL: PASSED");
  });
});
