import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests import the packages' TypeScript sources (the "@fastmcp-proxy/source" export condition), not dist.
  ssr: { resolve: { conditions: ["@fastmcp-proxy/source", "module", "node", "development|production"] } },
  test: {
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts", "examples/*/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
