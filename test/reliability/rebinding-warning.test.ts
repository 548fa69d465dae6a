// The loud warning for an HTTP front bound beyond loopback with no allowed hosts (issue 12: no DNS-
// rebinding check then). The decision, and one CLI run that binds 0.0.0.0 on a free port, prints the
// warning and is stopped at once (nothing connects to it).
import { afterEach, describe, expect, it } from "vitest";
import "@fastmcp-proxy/core"; // its reflect-metadata first
import { rebindingWarning } from "../../packages/core/src/proxy.js";
import { FIXTURE_STDIO, SERVING_HTTP, startCli, stopAll } from "../cli/process.js";

afterEach(stopAll);

describe("the DNS-rebinding warning", () => {
  it("is given for a non-loopback address without allowed hosts, and only then", () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "proxy.internal"]) {
      expect(rebindingWarning(host, undefined)).toMatch(new RegExp(`^serving on ${host.replace(/\./g, "\\.")}, not a loopback address, with no allowed hosts: Host and Origin are NOT checked`));
      expect(rebindingWarning(host, ["proxy.internal"])).toBeUndefined();
    }
    for (const host of ["127.0.0.1", "localhost", "::1", "127.0.0.2"]) expect(rebindingWarning(host, undefined)).toBeUndefined();
  });

  it("the CLI bound to 0.0.0.0 prints it before it serves", async () => {
    const cli = startCli(["--transport", "http", "--host", "0.0.0.0", "--port", "0", "--", ...FIXTURE_STDIO]);
    await cli.waitForStderr(SERVING_HTTP);
    cli.child.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
    const stderr = cli.stderr();
    expect(stderr).toMatch(/warn: serving on 0\.0\.0\.0, not a loopback address, with no allowed hosts: Host and Origin are NOT checked \(no DNS-rebinding protection\)/);
    expect(stderr.indexOf("not a loopback address")).toBeLessThan(stderr.search(SERVING_HTTP));
  });
});
