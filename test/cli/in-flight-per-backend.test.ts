// --max-in-flight-per-backend on the built CLI (issue 12): the cap reaches run({ limits }), on a stdio front too.
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, SERVING_STDIO, startCli, stopAll, withTimeout } from "./process.js";

afterEach(stopAll);

describe("--max-in-flight-per-backend", () => {
  it("past N calls in flight to the backend, the next one fails at once; once they are answered it is served", async () => {
    const cli = startCli(["--max-in-flight-per-backend", "1", "--log-level", "warn", "--", ...FIXTURE_STDIO]);
    await cli.waitForStderr(SERVING_STDIO);
    const client = await cli.connectStdio();
    let running!: () => void;
    const reached = new Promise<void>((resolve) => (running = resolve));
    const slow = client.request({ method: "tools/call", params: { name: "slow", arguments: { ms: 2000 } } }, ResultSchema.passthrough(), { onprogress: () => running() });
    await withTimeout(reached, 10_000, "the slow call to run");
    const refused = await client.callTool({ name: "echo", arguments: { text: "second" } }).then(() => undefined, (error: { code: number; message: string }) => error);
    expect(refused?.code).toBe(-32010);
    expect(refused?.message).toMatch(/Too many requests in flight to backend "backend" \(1, at most 1\)/);
    expect((await withTimeout(slow, 10_000, "slow")).content).toEqual([{ type: "text", text: "slept 2000" }]);
    expect((await client.callTool({ name: "echo", arguments: { text: "third" } })).content).toMatchObject([{ text: "third" }]);
    cli.child.stdin.end();
    expect((await cli.exited()).code, cli.stderr()).toBe(0);
  });
});
