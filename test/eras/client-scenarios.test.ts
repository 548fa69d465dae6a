// The conformance suite's 2026-07-28 client scenarios with the proxy as the client: the suite starts
// its scenario server, and test/eras/proxy-client.mjs runs a proxy with that server as its 2026
// backend, driven by an in-memory SDK client. The driver runs on the built core (packages/core/dist).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const CLI = join(dirname(createRequire(import.meta.url).resolve("conformance-next/package.json")), "dist", "index.js");
const SHIM = fileURLToPath(new URL("./globsync-shim.mjs", import.meta.url));
const DRIVER = fileURLToPath(new URL("./proxy-client.mjs", import.meta.url));
const CORE = fileURLToPath(new URL("../../packages/core", import.meta.url));
const BUILT = fileURLToPath(new URL("../../packages/core/dist/eras/index.js", import.meta.url));

/** The 2026-07-28 client requirements that are not about authorization. */
const SCENARIOS = ["tools_call", "request-metadata", "sep-2322-client-request-state", "http-standard-headers", "http-custom-headers", "http-invalid-tool-headers", "json-schema-ref-no-deref"];

/** Builds core (incremental, so quick when current); type errors elsewhere do not stop its output. */
async function buildCore(): Promise<void> {
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  const child = spawn(process.execPath, [tsc, "-b", CORE], { stdio: "ignore" });
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 180_000);
  await new Promise((resolve) => child.once("close", resolve));
  clearTimeout(timer);
}

async function scenario(name: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", SHIM, CLI, "client", "--command", `${process.execPath} ${DRIVER}`, "--scenario", name, "--spec-version", "2026-07-28"], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: process.env.TMPDIR ?? "/tmp",
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  clearTimeout(timer);
  return { code, output };
}

describe("conformance client scenarios at 2026-07-28, the proxy as the client", () => {
  beforeAll(async () => {
    await buildCore();
    expect(existsSync(BUILT), "packages/core/dist/eras was not built").toBe(true);
  }, 200_000);

  for (const name of SCENARIOS) {
    it(name, async () => {
      const { code, output } = await scenario(name);
      const passed = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
      console.log(`${name}: ${passed?.[0] ?? "no result"}`);
      expect(passed?.[3], output.slice(-2500)).toBe("0");
      expect(code).toBe(0);
    }, 90_000);
  }
});
