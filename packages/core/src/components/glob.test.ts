// The one glob matcher of core's rules, auth's rules and the cache's filters: what `*` may cover
// decides whether anything slips past a deny rule, or into an allowlist.
import { describe, expect, it } from "vitest";
import { globMatcher } from "./glob.js";

describe("globMatcher", () => {
  it("* is any run of characters: a rule on secret://* covers every URI under it, dot-names included", () => {
    const secret = globMatcher("secret://*");
    for (const uri of ["secret://a", "secret://a/b/c", "secret://.env", "secret://a/.git/config", "secret://"]) expect(secret(uri), uri).toBe(true);
    expect(secret("public://a")).toBe(false);
    expect(globMatcher("secret://**")("secret://a/b")).toBe(true);
    expect(globMatcher("*_delete*")("db_delete.all")).toBe(true);
  });

  it("a . or .. segment is matched only literally: an allowlist never admits a path traversal", () => {
    const pub = globMatcher("files://public/*");
    for (const uri of ["files://public/../secret", "files://public/a/../../secret", "files://public/./x", "files://public/.."]) expect(pub(uri), uri).toBe(false);
    expect(pub("files://public/.well-known/x")).toBe(true);
    expect(globMatcher("files://public/../x")("files://public/../x")).toBe(true);
  });

  it("? is one character; nothing else is special ({id} of a URI template, [, !, parentheses)", () => {
    expect(globMatcher("get_?")("get_x")).toBe(true);
    expect(globMatcher("get_?")("get_xy")).toBe(false);
    expect(globMatcher("a.b")("axb")).toBe(false);
    expect(globMatcher("notes://{id}")("notes://{id}")).toBe(true);
    expect(globMatcher("notes://{id}")("notes://id")).toBe(false);
    expect(globMatcher("{a,b}")("a")).toBe(false);
    expect(globMatcher("[ab]")("a")).toBe(false);
    expect(globMatcher("!a")("b")).toBe(false);
    expect(globMatcher("a+(b)")("abb")).toBe(false);
  });

  it("takes one glob or several; none matches nothing", () => {
    expect(globMatcher(["x", "y_*"])("y_1")).toBe(true);
    expect(globMatcher([])("anything")).toBe(false);
  });
});
