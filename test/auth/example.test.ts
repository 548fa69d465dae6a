// examples/auth-gateway end to end: a user signs in, reaches notes as themselves (token
// exchange) and crm through the gateway's service account, and the per-tool rules apply.
import { createServer } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { runGateway } from "../../examples/auth-gateway/src/main.js";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { startProtectedBackend } from "./protected-backend.js";
import { post, INIT } from "./setup.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

describe("examples/auth-gateway", () => {
  it("per-user notes, service-account crm, rules per tool", async () => {
    const as = await TestAuthServer.start({ clients: [{ clientId: "gateway", clientSecret: "gw-secret" }] });
    cleanup.push(() => as.close());
    const [notes, crm] = [await startProtectedBackend(as), await startProtectedBackend(as)];
    cleanup.push(() => notes.close(), () => crm.close());
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}/mcp`;
    const { proxy, running } = await runGateway({ issuer: as.issuer, publicUrl, notesUrl: notes.url, crmUrl: crm.url, clientId: "gateway", clientSecret: "gw-secret", port });
    cleanup.push(() => proxy.close());
    expect(running.url).toBe(publicUrl);
    expect((await post(publicUrl, INIT)).status).toBe(401);

    const connect = async (token: string) => {
      const client = new Client({ name: "user", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(publicUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      cleanup.push(() => client.close());
      return client;
    };
    const alice = await connect(await as.mint({ sub: "alice", aud: publicUrl, scope: "notes:read crm:read" }));
    expect((await alice.listTools()).tools.map((t) => t.name).sort()).toEqual(["crm_whoami", "crm_write_note", "notes_delete_all", "notes_whoami", "notes_write_note"]);
    expect(text(await alice.callTool({ name: "notes_whoami" }))).toBe("alice");
    expect(text(await alice.callTool({ name: "crm_whoami" }))).toBe("gateway");
    await expect(alice.callTool({ name: "notes_write_note" })).rejects.toThrow(/notes:write/);
    await expect(alice.callTool({ name: "crm_delete_all" })).rejects.toThrow(/Unknown tool/);

    const admin = await connect(await as.mint({ sub: "root", aud: publicUrl, scope: "notes:write crm:read", claims: { roles: ["admin"] } }));
    expect(text(await admin.callTool({ name: "crm_delete_all" }))).toBe("deleted");
    expect(text(await admin.callTool({ name: "notes_write_note" }))).toBe("written");
  });
});
