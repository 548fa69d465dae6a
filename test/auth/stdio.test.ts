// Fronts without HTTP (stdio, in-memory): the same rules, for a principal fixed in configuration.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { authorize, staticPrincipal } from "@fastmcp-proxy/auth";
import { connectClient, rejection } from "../helpers.js";
import { RULES, notesServer } from "./setup.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("rules on a front without HTTP", () => {
  it("hide, scope and role rules apply to the configured principal; errors are plain JSON-RPC", async () => {
    proxy = FastMCPProxy.asProxy(notesServer()).use(
      authorize({ ...RULES, principal: staticPrincipal({ subject: "ops-bot", scopes: ["notes:read"], claims: { realm_access: { roles: ["ops"] } } }) }),
    );
    const client = await connectClient(proxy);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(["ops_restart", "read_notes", "tenant_report", "write_note"]);
    expect((await client.callTool({ name: "ops_restart" })).content).toEqual([{ type: "text", text: "restarted" }]);
    const write = await rejection(client.callTool({ name: "write_note", arguments: { text: "x" } }));
    expect(write.code).toBe(-32012);
    expect(write.message).toMatch(/needs the scopes notes:write/);
    const tenant = await rejection(client.callTool({ name: "tenant_report" }));
    expect(tenant.code).toBe(-32012);
    const hidden = await rejection(client.callTool({ name: "admin_reset" }));
    const unknown = await rejection(client.callTool({ name: "nope" }));
    expect(hidden.code).toBe(unknown.code);
  });
});
