import { describe, expect, it } from "vitest";
import { staticPrincipal } from "./principal.js";
import { claimAt, decide, type PolicyOptions, type RuleTarget } from "./rules.js";

const tool = (name: string, annotations?: Record<string, unknown>, backend = "notes"): RuleTarget => ({ kind: "tool", name, backend: { name: backend }, definition: { name, annotations } });
const resource = (uri: string): RuleTarget => ({ kind: "resource", name: uri, backend: { name: "files" }, definition: { uri } });
const who = (scopes: string[], claims: Record<string, unknown> = {}) => staticPrincipal({ subject: "alice", scopes, claims });

describe("decide", () => {
  const policy: PolicyOptions = {
    implies: { admin: ["write"], write: ["read"] },
    rules: [
      { tools: "get_*", scopes: ["read"] },
      { tools: ["set_*", "put_*"], scopes: ["write"] },
      { tools: "*_secret", scopes: ["admin"], hide: true },
      { annotations: { destructiveHint: true }, roles: ["admin"], rolesClaim: "realm_access.roles", hide: true },
      { resources: "secret://*", when: (p) => p?.claims.tenant === "acme" },
      { backend: "legacy", deny: true },
    ],
  };

  it("requires scopes, with implication", () => {
    expect(decide(policy, tool("get_x", { readOnlyHint: true }), who(["read"]))).toEqual({ allow: true });
    expect(decide(policy, tool("set_x", { readOnlyHint: true }), who(["read"]))).toMatchObject({ allow: false, hidden: false, missingScopes: ["write"] });
    expect(decide(policy, tool("put_x", { readOnlyHint: true }), who(["admin"]))).toEqual({ allow: true });
    expect(decide(policy, tool("get_x", { readOnlyHint: true }), undefined)).toMatchObject({ missingScopes: ["read"] });
  });

  it("hides when a hiding rule is not met, whatever other rules say", () => {
    expect(decide(policy, tool("get_secret", { readOnlyHint: true }), who(["read"]))).toEqual({ allow: false, hidden: true });
    expect(decide(policy, tool("get_secret", { readOnlyHint: true }), who(["admin"]))).toEqual({ allow: true });
  });

  it("selects tools by annotations, with the spec's defaults for missing hints", () => {
    const admin = who([], { realm_access: { roles: ["admin"] } });
    expect(decide(policy, tool("drop_table"), who([]))).toEqual({ allow: false, hidden: true });
    expect(decide(policy, tool("drop_table"), admin)).toEqual({ allow: true });
    expect(decide(policy, tool("drop_table", { readOnlyHint: true }), who([]))).toEqual({ allow: true });
    expect(decide(policy, tool("drop_table", { destructiveHint: false }), who([]))).toEqual({ allow: true });
  });

  it("predicates on claims refuse (Forbidden), and an unconditional deny always does", () => {
    expect(decide(policy, resource("secret://a"), who([], { tenant: "acme" }))).toEqual({ allow: true });
    expect(decide(policy, resource("secret://a"), who([], { tenant: "other" }))).toMatchObject({ allow: false, hidden: false, missingScopes: [] });
    expect(decide(policy, resource("public://a"), who([]))).toEqual({ allow: true });
    expect(decide(policy, tool("x", { readOnlyHint: true }, "legacy"), who(["admin"]))).toMatchObject({ allow: false, hidden: false, missingScopes: [] });
  });

  it("nothing under a rule's URI glob slips past it: deeper paths and dot-names are covered", () => {
    const hidden: PolicyOptions = { rules: [{ resources: "secret://*", scopes: ["admin"], hide: true }] };
    for (const uri of ["secret://a", "secret://a/b/c", "secret://.env", "secret://a/.git/config"]) {
      expect(decide(hidden, resource(uri), who(["read"])), uri).toEqual({ allow: false, hidden: true });
    }
    expect(decide(hidden, resource("public://a/b"), who(["read"]))).toEqual({ allow: true });
  });

  it("a URI with . or .. segments read through a template is refused: it slips neither into an allowlist nor past a deny rule", () => {
    const read = (uri: string): RuleTarget => ({ kind: "template", name: "files://{path}", backend: { name: "files" }, definition: {}, uri });
    const allowlist: PolicyOptions = { default: "hide", rules: [{ resources: "files://public/*" }] };
    const denied: PolicyOptions = { rules: [{ resources: "files://secret/*", hide: true }] };
    expect(decide(allowlist, read("files://public/a/b.txt"), who([]))).toEqual({ allow: true });
    for (const uri of ["files://public/../secret", "files://public/a/../../secret", "files://public/./x"]) {
      expect(decide(allowlist, read(uri), who([])), uri).toEqual({ allow: false, hidden: true });
    }
    const open: PolicyOptions = { rules: [{ resources: "files://public/*", scopes: ["read"] }] };
    expect(decide(open, read("files://public/../secret"), who(["read"]))).toMatchObject({ allow: false, reason: expect.stringMatching(/\. or \.\. segment/) });
    expect(decide(denied, read("files://secret/../secret/x"), who([]))).toMatchObject({ allow: false });
    expect(decide(denied, read("files://public/x"), who([]))).toEqual({ allow: true });
    // Without resource rules, nothing judges the URI.
    expect(decide({ rules: [{ tools: "x" }] }, read("files://public/../secret"), who([]))).toEqual({ allow: true });
  });

  it("a default of hide makes the rules an allowlist", () => {
    const allowlist: PolicyOptions = { default: "hide", rules: [{ tools: "get_*" }] };
    expect(decide(allowlist, tool("get_x"), undefined)).toEqual({ allow: true });
    expect(decide(allowlist, tool("set_x"), undefined)).toEqual({ allow: false, hidden: true });
    expect(decide({ default: "deny", rules: [] }, tool("x"), undefined)).toMatchObject({ allow: false, hidden: false });
  });

  it("reads roles from a dotted claim path, as an array or a space-separated string", () => {
    expect(claimAt({ a: { b: { c: 1 } } }, "a.b.c")).toBe(1);
    expect(claimAt({ a: "x" }, "a.b")).toBeUndefined();
    const rolePolicy: PolicyOptions = { rolesClaim: "groups", rules: [{ tools: "*", roles: ["ops"] }] };
    expect(decide(rolePolicy, tool("t"), who([], { groups: "dev ops" }))).toEqual({ allow: true });
    expect(decide(rolePolicy, tool("t"), who([], { groups: ["dev"] }))).toMatchObject({ allow: false });
  });
});
