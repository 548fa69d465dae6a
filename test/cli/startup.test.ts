// What the command loads: the auth stack (its HTTP client, undici, and JOSE) only when auth is asked
// for. Loaded for nothing it cost start-up time and a larger heap, which made every call dearer
// (docs/performance.md, "The CLI's own cost").
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, SERVING_HTTP, SERVING_STDIO, startCli, stopAll } from "./process.js";

afterEach(stopAll);

const REPORT = fileURLToPath(new URL("../fixtures/report-loaded.cjs", import.meta.url));

/** The npm packages the command loaded, from start to a SIGTERM once it serves. */
async function packagesLoaded(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const cli = startCli(args, { env: { ...process.env, ...env, NODE_OPTIONS: `--require ${REPORT}` } });
  await cli.waitForStderr(ready);
  cli.child.kill("SIGTERM");
  expect((await cli.exited()).code).toBe(0);
  const [, list] = /^LOADED-PACKAGES (.*)$/m.exec(cli.stderr()) ?? [];
  expect(list).toBeDefined();
  return list!.split(",");
}

describe("the command's start-up", () => {
  it("does not load the auth stack with no auth flag and no auth in a config", async () => {
    const loaded = await packagesLoaded(["--", ...FIXTURE_STDIO], SERVING_STDIO);
    expect(loaded).toContain("pino");
    expect(loaded).not.toContain("undici");
  });

  it("loads it when auth is asked for", async () => {
    const loaded = await packagesLoaded(["--transport", "http", "--port", "0", "--api-key-env", "STARTUP_TEST_KEY", "--", ...FIXTURE_STDIO], SERVING_HTTP, {
      STARTUP_TEST_KEY: "startup-test-key-0123456789abcdef",
    });
    expect(loaded).toContain("undici");
  });
});
