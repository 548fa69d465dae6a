import { describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { serveHttp } from "../fixtures/serve.mjs";
import { connectClient, raw } from "../helpers.js";

describe("a long-lived streamable HTTP backend session", () => {
  it("carries thousands of calls without piling listeners on one abort signal", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    const http = await serveHttp(createFixtureServer, { mode: "http" });
    const proxy = FastMCPProxy.asProxy(http.url);
    try {
      const client = await connectClient(proxy);
      for (let i = 0; i < 2500; i++) await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(warnings.filter((name) => name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await proxy.close();
      await http.close();
    }
  }, 60_000);
});
