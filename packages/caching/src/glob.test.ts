// The one glob matcher of the caching rules (picomatch): segments for URIs, plain names for tools.
import { describe, expect, it } from "vitest";
import { filterOf, matchFirst } from "./glob.js";

describe("cache rule globs", () => {
  it("* stays within a /-separated segment, ** crosses them, ? is one character", () => {
    const drafts = filterOf({ exclude: ["notes://notes/drafts/*"] });
    expect(drafts("notes://notes/drafts/a")).toBe(false);
    expect(drafts("notes://notes/drafts/a/b")).toBe(true);
    expect(filterOf({ exclude: ["notes://notes/drafts/**"] })("notes://notes/drafts/a/b")).toBe(false);
    expect(filterOf({ include: ["data://items/?"] })("data://items/7")).toBe(true);
    expect(filterOf({ include: ["data://items/?"] })("data://items/77")).toBe(false);
    expect(filterOf({ include: ["*"] })(".hidden")).toBe(true);
  });

  it("matchFirst prefers an exact name, then the first glob that matches", () => {
    const table = { "search_*": "glob", search_docs: "exact", "weather_{get,list}_*": "braces" };
    expect(matchFirst(table, "search_docs")).toBe("exact");
    expect(matchFirst(table, "search_web")).toBe("glob");
    expect(matchFirst(table, "weather_list_cities")).toBe("braces");
    expect(matchFirst(table, "other")).toBeUndefined();
  });
});
