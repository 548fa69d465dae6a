// The external MCP conformance suite (@modelcontextprotocol/conformance, server scenarios, `--suite all`)
// run against the in-repo fixture directly, then through the proxy with the fixture as each backend
// form. The proxy must lose nothing: every scenario scores through it what it scores directly.
//
// Everything listens on 127.0.0.1; every process started here is ended by its PID; every wait is bounded.
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import type { BackendSpec } from "@fastmcp-proxy/core";
import { createConformanceServer } from "../fixtures/conformance-server.mjs";
import { CONFORMANCE_FIXTURE } from "../helpers.js";

/** The suite's CLI, as installed for this package (0.1.13: the last release that runs on Node 20). */
const CLI = join(dirname(createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json")), "dist", "index.js");

/** What the pinned suite scores the fixture directly: 32 scenarios, 44 checks. */
const EXPECTED = { passed: 44, failed: 0 };
/** A whole suite run takes 2–5 s here; this is the ceiling before its process is killed. */
const SUITE_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = SUITE_TIMEOUT_MS + 30_000;

interface SuiteResult {
  total: { passed: number; failed: number };
  /** Per scenario, from the summary: `name → "N passed, M failed"`. */
  scenarios: Record<string, string>;
  output: string;
}

const started = new Set<ChildProcess>();

/** Ends a child we started, by its PID: SIGTERM, then SIGKILL if it lingers. Bounded. */
async function stop(child: ChildProcess): Promise<void> {
  started.delete(child);
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

/** Runs the suite's CLI against `url` and parses its summary. */
async function runSuite(url: string): Promise<SuiteResult> {
  const child = spawn(process.execPath, [CLI, "server", "--url", url, "--suite", "all"], { stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  }, SUITE_TIMEOUT_MS);
  await new Promise<void>((resolve) => child.once("close", () => resolve()));
  clearTimeout(timer);
  started.delete(child);
  if (timedOut) throw new Error(`conformance suite against ${url} did not finish within ${SUITE_TIMEOUT_MS} ms:\n${output.slice(-4000)}`);
  const total = /^Total: (\d+) passed, (\d+) failed\s*$/m.exec(output);
  if (!total) throw new Error(`no "Total:" line from the conformance suite against ${url}:\n${output.slice(-4000)}`);
  const scenarios: Record<string, string> = {};
  for (const [, name, counts] of output.matchAll(/^[✓✗] ([\w.-]+): (\d+ passed, \d+ failed)\s*$/gmu)) scenarios[name!] = counts!;
  return { total: { passed: Number(total[1]), failed: Number(total[2]) }, scenarios, output };
}

/** Starts the fixture as a child (`http` or `sse` mode) and waits, bounded, for its `LISTENING <url>` line. */
async function startFixture(mode: "http" | "sse"): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CONFORMANCE_FIXTURE, mode, "0"], { stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  child.stderr!.resume(); // its log; drained so it never blocks
  let stdout = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fixture (${mode}) printed no LISTENING line within 15 s: ${stdout}`)), 15_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const found = /^LISTENING (\S+)$/m.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture (${mode}) exited with ${code} before listening: ${stdout}`));
    });
  });
  return { url, child };
}

/** PIDs of this process's children still running `file` (Linux; elsewhere nothing is checked). */
function childrenRunning(file: string): number[] {
  if (process.platform !== "linux") return [];
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out
    .split("\n")
    .filter((line) => line.includes(file))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe("the conformance suite, directly and through the proxy", () => {
  let http: { url: string; child: ChildProcess };
  let sse: { url: string; child: ChildProcess };
  let direct: SuiteResult;
  let proxy: FastMCPProxy | undefined;

  beforeAll(async () => {
    [http, sse] = await Promise.all([startFixture("http"), startFixture("sse")]);
    direct = await runSuite(http.url);
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await Promise.all([...started].map(stop));
  });

  /** The suite through a proxy (HTTP front on 127.0.0.1, a free port) in front of `backend`. */
  async function throughProxy(backend: BackendSpec): Promise<SuiteResult> {
    proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    return runSuite(url!);
  }

  function expectSameAsDirect(result: SuiteResult): void {
    // Per scenario first, so a failure names the scenarios that differ.
    expect(result.scenarios, result.output.slice(-4000)).toEqual(direct.scenarios);
    expect(result.total).toEqual(direct.total);
  }

  it("the fixture, directly (the baseline)", () => {
    console.log(`direct:       Total: ${direct.total.passed} passed, ${direct.total.failed} failed`);
    expect(direct.total, direct.output.slice(-4000)).toEqual(EXPECTED);
    expect(Object.keys(direct.scenarios)).toHaveLength(32);
  });

  it("proxy → streamable HTTP fixture", async () => {
    const result = await throughProxy(http.url);
    console.log(`proxy→http:   Total: ${result.total.passed} passed, ${result.total.failed} failed`);
    expectSameAsDirect(result);
  }, TEST_TIMEOUT_MS);

  it("proxy → stdio fixture (a child per front session), leaving no child behind", async () => {
    const result = await throughProxy([process.execPath, CONFORMANCE_FIXTURE, "stdio"]);
    console.log(`proxy→stdio:  Total: ${result.total.passed} passed, ${result.total.failed} failed`);
    expectSameAsDirect(result);
    await proxy!.close();
    proxy = undefined;
    // The stdio fixture children are the proxy's; our own HTTP and SSE fixture children are not "stdio".
    const deadline = Date.now() + 5000;
    while (childrenRunning(`${CONFORMANCE_FIXTURE} stdio`).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(childrenRunning(`${CONFORMANCE_FIXTURE} stdio`)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it("proxy → legacy SSE fixture", async () => {
    const result = await throughProxy(sse.url);
    console.log(`proxy→sse:    Total: ${result.total.passed} passed, ${result.total.failed} failed`);
    expectSameAsDirect(result);
  }, TEST_TIMEOUT_MS);

  it("proxy → in-process fixture (one shared backend session)", async () => {
    const result = await throughProxy(createConformanceServer());
    console.log(`proxy→in-proc: Total: ${result.total.passed} passed, ${result.total.failed} failed`);
    expectSameAsDirect(result);
  }, TEST_TIMEOUT_MS);
});
