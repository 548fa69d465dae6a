// Builds the image and runs it, where a container builder works here (docker or podman with a
// reachable engine; buildah builds only). Elsewhere it is skipped, saying why; the Dockerfile's
// shape is checked on every machine by dockerfile.test.ts.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../cli/process.js";
import { until } from "../helpers.js";

const run = promisify(execFile);
const MINUTES = 60_000;
const TAG = `fastmcp-proxy-test:${process.pid}`;

/** The first builder that answers, and whether it can also run containers; or why there is none. */
function findBuilder(): { tool: string; runs: boolean } | { reason: string } {
  const answers = (tool: string, args: string[]) => {
    try {
      execFileSync(tool, args, { stdio: "ignore", timeout: 15_000 });
      return true;
    } catch {
      return false;
    }
  };
  for (const tool of ["docker", "podman"]) if (answers(tool, ["info"])) return { tool, runs: true };
  if (answers("buildah", ["version"])) return { tool: "buildah", runs: false };
  return { reason: "no container builder here (docker or podman with a running engine, or buildah)" };
}

const builder = findBuilder();
if ("reason" in builder) console.warn(`test/ship/image.test.ts skipped: ${builder.reason}`);
const tool = "tool" in builder ? builder.tool : "";
const canRun = "runs" in builder && builder.runs;
let container: string | undefined;

afterAll(async () => {
  if (container) await run(tool, ["rm", "-f", container]).catch(() => {});
  if (tool) await run(tool, ["rmi", "-f", TAG]).catch(() => {});
}, MINUTES);

describe.skipIf(!tool)("the container image", () => {
  it("builds", async () => {
    const args = tool === "buildah" ? ["bud", "-t", TAG, "."] : ["build", "-t", TAG, "."];
    await run(tool, args, { cwd: ROOT, timeout: 15 * MINUTES, maxBuffer: 64 * 1024 * 1024 });
  }, 16 * MINUTES);

  it.skipIf(!canRun)("serves the demo on a published loopback port, answers /healthz, and stops cleanly on SIGTERM", async () => {
    const { stdout } = await run(tool, ["run", "-d", "-p", "127.0.0.1::8000", TAG, "--demo", "--transport", "http", "--host", "0.0.0.0"]);
    container = stdout.trim();
    const port = (await run(tool, ["port", container, "8000"])).stdout.trim().split(":").at(-1);
    const health = await until(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => (r.ok ? r : undefined), () => undefined), "/healthz", 60_000);
    expect(await health.json()).toMatchObject({ status: "ok" });
    await run(tool, ["stop", "-t", "30", container], { timeout: MINUTES });
    const exit = (await run(tool, ["inspect", "-f", "{{.State.ExitCode}}", container])).stdout.trim();
    expect(exit).toBe("0");
  }, 3 * MINUTES);
});
