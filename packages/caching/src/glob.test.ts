// The cache's filters and tool tables, on core's globMatcher (its own semantics are tested in core).
import { describe, expect, it } from "vitest";
import { filterOf, matchFirst } from "./glob.js";

describe("cache rule globs", () => {
  it("an exclude covers everything under it (* crosses /), ? is one character", () => {
    const drafts = filterOf({ exclude: ["notes://notes/drafts/*"] });
    expect(drafts("notes://notes/drafts/a")).toBe(false);
    expect(drafts("notes://notes/drafts/a/b")).toBe(false);
    expect(drafts("notes://notes/final/a")).toBe(true);
    expect(filterOf({ include: ["data://items/?"] })("data://items/7")).toBe(true);
    expect(filterOf({ include: ["data://items/?"] })("data://items/77")).toBe(false);
    expect(filterOf({ include: ["*"] })(".hidden")).toBe(true);
  });

  it("matchFirst prefers an exact name, then the first glob that matches", () => {
    const table = { "search_*": "glob", search_docs: "exact", "weather_*_cities": "middle" };
    expect(matchFirst(table, "search_docs")).toBe("exact");
    expect(matchFirst(table, "search_web")).toBe("glob");
    expect(matchFirst(table, "weather_list_cities")).toBe("middle");
    expect(matchFirst(table, "other")).toBeUndefined();
  });
});
