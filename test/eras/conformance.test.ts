// Conformance 0.2 (`--requirements`, the frozen scored sets) directly against the dual-era fixture and
// through the proxy's two-era front in front of it, with the backend spoken to in either era.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { modernProxy, runRequirements, type SuiteRun } from "./harness.js";

const T = 240_000;

/** The proxy's own HTTP front (both eras on /mcp), as run() serves it. */
type Front = { url: string };

function report(label: string, run: SuiteRun): void {
  console.log(`${label}: ${run.scored.passed}/${run.scored.of} scored, exit ${run.exitCode}${run.scored.failing.length ? `; failing: ${run.scored.failing.map((n) => `${n} (${run.scenarios[n]})`).join(", ")}` : ""}`);
}

describe("conformance 0.2 requirements, both eras", () => {
  let fixture: Awaited<ReturnType<typeof startDualEraServer>>;
  beforeAll(async () => {
    fixture = await startDualEraServer();
  });
  afterAll(async () => {
    await fixture.close();
  });

  it("the dual-era fixture directly: 37/37 at 2026-07-28 and 30/30 at 2025-11-25", async () => {
    const [modern, legacy] = await Promise.all([runRequirements(fixture.url, "2026-07-28"), runRequirements(fixture.url, "2025-11-25")]);
    report("direct 2026-07-28", modern);
    report("direct 2025-11-25", legacy);
    expect(modern.scored, modern.output.slice(-3000)).toEqual({ passed: 37, of: 37, failing: [] });
    expect(legacy.scored, legacy.output.slice(-3000)).toEqual({ passed: 30, of: 30, failing: [] });
    expect(modern.exitCode).toBe(0);
    expect(legacy.exitCode).toBe(0);
  }, T);

  describe("through the proxy, backend spoken to in 2026-07-28", () => {
    let front: Front;
    let proxy: FastMCPProxy;
    beforeAll(async () => {
      proxy = modernProxy(fixture.url);
      front = (await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 })) as Front;
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it("2026-07-28 requirements", async () => {
      const run = await runRequirements(front.url, "2026-07-28");
      report("proxy(2026 backend) 2026-07-28", run);
      expect(run.scored.failing, run.output.slice(-3000)).toEqual([]);
    }, T);
  });

  describe("through the proxy, backend spoken to in the legacy era", () => {
    let front: Front;
    let proxy: FastMCPProxy;
    beforeAll(async () => {
      proxy = FastMCPProxy.asProxy(fixture.url, { logLevel: "error" });
      front = (await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 })) as Front;
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it("2025-11-25 requirements stay 30/30", async () => {
      const run = await runRequirements(front.url, "2025-11-25");
      report("proxy(legacy backend) 2025-11-25", run);
      expect(run.scored, run.output.slice(-3000)).toEqual({ passed: 30, of: 30, failing: [] });
    }, T);

    it("2026-07-28 requirements in front of the v1 fixture (which has no input_required tools)", async () => {
      const run = await runRequirements(front.url, "2026-07-28");
      report("proxy(legacy v1 fixture) 2026-07-28", run);
      // Everything but the scenarios whose tools only the 2026 leg has passes through the bridge.
      expect(run.scored.failing.filter((n) => !n.startsWith("input-required-result-") && n !== "server-stateless")).toEqual([]);
    }, T);
  });

  describe("through the proxy, legacy backend whose tools ask for input push-style", () => {
    let shim: Awaited<ReturnType<typeof startDualEraServer>>;
    let front: Front;
    let proxy: FastMCPProxy;
    beforeAll(async () => {
      shim = await startDualEraServer({ legacy: "shim" });
      proxy = FastMCPProxy.asProxy(shim.url, { logLevel: "error" });
      front = (await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 })) as Front;
    });
    afterAll(async () => {
      await proxy?.close();
      await shim?.close();
    });

    it("2026-07-28 requirements through the bridge (elicitation, sampling, roots as input_required)", async () => {
      const run = await runRequirements(front.url, "2026-07-28");
      report("proxy(legacy shim backend) 2026-07-28", run);
      // The one gap: a legacy server→client request has no key, so the client cannot be given the
      // backend's ("user_name"); the proxy names it by its method.
      expect(run.scored.failing, run.output.slice(-3000)).toEqual(["input-required-result-basic-elicitation"]);
    }, T);
  });
});
