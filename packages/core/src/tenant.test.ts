import { describe, expect, it } from "vitest";
import { partitionOf, profileKey, relayable, tenantOf } from "./tenant.js";

describe("the capability profile", () => {
  it("keeps only what the protocol defines, so made-up fields make no profile of their own", () => {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      keys.add(profileKey(relayable({ sampling: { [`x${i}`]: {} }, elicitation: { form: { junk: i }, [`y${i}`]: {} }, roots: { listChanged: true, z: i } } as never)));
    }
    expect([...keys]).toEqual([profileKey({ sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } })]);
  });

  it("relays the declared sub-capabilities, and nothing undeclared", () => {
    expect(relayable({ sampling: { tools: {}, context: {} }, elicitation: { url: {} }, experimental: { a: {} } } as never)).toEqual({
      sampling: { context: {}, tools: {} },
      elicitation: { url: {} },
    });
    expect(relayable({ roots: {} })).toEqual({ roots: {} });
    expect(relayable({ sampling: "yes", elicitation: [] } as never)).toEqual({});
    expect(relayable(undefined)).toEqual({});
  });
});

describe("tenantOf", () => {
  it("names a principal, an anonymous session, or an anonymous request alone", () => {
    const authInfo = { token: "t", clientId: "c", scopes: [], extra: { identity: "iss alice" } };
    expect(tenantOf({ authInfo, sessionId: "s1" })).toMatchObject({ id: "principal:iss alice", principal: "iss alice", ephemeral: false });
    expect(tenantOf({ sessionId: "s1" })).toMatchObject({ id: "session:s1", principal: undefined, ephemeral: false });
    const a = tenantOf({});
    const b = tenantOf({});
    expect(a.ephemeral && b.ephemeral).toBe(true);
    expect(partitionOf(a)).not.toBe(partitionOf(b));
  });

  it("counts a request in shared pools as its tenant, every anonymous request alone as one", () => {
    const authInfo = { token: "t", clientId: "c", scopes: [], extra: { identity: "iss alice" } };
    expect(tenantOf({ authInfo }).share).toBe("principal:iss alice");
    expect(tenantOf({ sessionId: "s1" }).share).toBe("session:s1");
    expect([tenantOf({}).share, tenantOf({}).share]).toEqual(["anonymous", "anonymous"]);
  });

  it("keys a tenant by its id and profile together, and partitions by the id alone", () => {
    const plain = tenantOf({ sessionId: "s" });
    const asking = tenantOf({ sessionId: "s", capabilities: { elicitation: {} } });
    expect(plain.key).not.toBe(asking.key);
    expect(partitionOf(plain)).toBe(partitionOf(asking));
  });
});
