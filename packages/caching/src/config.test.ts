import { describe, expect, it } from "vitest";
import { ProxyErrorCode } from "@fastmcp-proxy/core";
import { cacheFromConfig, cacheSectionFromFlags, ttlFromFlag } from "./config.js";

describe("cacheFromConfig", () => {
  it("reads the top-level section and the servers' own sections, which win", async () => {
    const options = cacheFromConfig(
      {
        ttl: { "resources/read": 5000 },
        tools: { weather_get_forecast: { ttlMs: 1000 }, "search_*": true },
        partition: "tenant",
        servers: { notes: { partition: "public", enabled: true } },
        store: { memory: { maxEntries: 10 } },
        breaker: { failures: 2, cooldownMs: 500 },
      },
      { notes: { partition: "session" }, calendar: { enabled: false } },
    );
    expect(options).toMatchObject({
      ttl: { "resources/read": 5000 },
      tools: { weather_get_forecast: { ttlMs: 1000 }, "search_*": true },
      servers: { notes: { partition: "session", enabled: true }, calendar: { enabled: false } },
      breaker: { failures: 2, cooldownMs: 500 },
    });
    expect(options.store?.kind).toBe("memory");
    await options.store?.close();
    expect(cacheFromConfig(undefined).store?.kind).toBe("memory");
  });

  it("refuses what the schema does not know, naming the field", () => {
    const refuse = (config: unknown, servers?: Record<string, unknown>) => {
      try {
        cacheFromConfig(config, servers);
      } catch (error) {
        expect((error as { code?: number }).code).toBe(ProxyErrorCode.InvalidConfig);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refuse({ ttl: { "resources/read": -1 } })).toMatch(/cache\.ttl\.resources\/read/);
    expect(refuse({ tools: { x: { ttl: 5 } } })).toMatch(/cache\.tools\.x/);
    expect(refuse({ partition: "everyone" })).toMatch(/cache\.partition/);
    expect(refuse({ store: { redis: "http://nope" } })).toMatch(/cache\.store/);
    expect(refuse({ ttls: {} })).toMatch(/Invalid cache/);
    expect(refuse({}, { weather: { enabled: "yes" } })).toMatch(/mcpServers\.weather\.cache\.enabled/);
  });
});

describe("ttlFromFlag", () => {
  it("reads method=ms pairs and refuses anything else, saying what", () => {
    expect(ttlFromFlag("resources/read=30000, tools/call=0")).toEqual({ "resources/read": 30000, "tools/call": 0 });
    expect(() => ttlFromFlag("resources/list=5")).toThrow(/unknown method "resources\/list"/);
    expect(() => ttlFromFlag("prompts/get=5s")).toThrow(/not method=milliseconds/);
    expect(() => ttlFromFlag("prompts/get")).toThrow(/not method=milliseconds/);
    expect(() => ttlFromFlag("")).toThrow(/expected method=milliseconds/);
  });
});

describe("cacheSectionFromFlags", () => {
  it("is undefined when nothing asks for a cache, and merges the flags over the file's section", () => {
    expect(cacheSectionFromFlags({})).toBeUndefined();
    expect(cacheSectionFromFlags({ cache: true })).toEqual({});
    expect(cacheSectionFromFlags({ ttl: "tools/call=5" }, { ttl: { "resources/read": 1 }, tools: { a: true } })).toEqual({
      ttl: { "resources/read": 1, "tools/call": 5 },
      tools: { a: true },
    });
    expect(cacheSectionFromFlags({ redis: "redis://127.0.0.1:1" }, { store: "memory" })).toEqual({ store: { redis: "redis://127.0.0.1:1" } });
    expect(() => cacheSectionFromFlags({ redis: "localhost:6379" })).toThrow(/--cache-redis localhost:6379: expected a redis:\/\//);
  });
});
