import { defineConfig } from "vitest/config";

/**
 * The slow end-to-end set: tests where a real process is what is tested (the built CLI, packed
 * tarballs, a container image, proxy replicas), the external conformance suites, and an independent
 * OpenID provider. `npm test` leaves them out; `npm run test:all` (what CI runs) adds them.
 * Name a new file `*.e2e.test.ts` to put it here.
 */
const E2E = [
  "**/*.e2e.test.ts",
  "test/cli/!(args).test.ts",
  "test/conformance/**/*.test.ts",
  "test/auth/conformance.test.ts",
  "test/auth/oidc-provider.test.ts",
  "test/eras/conformance.test.ts",
  "test/eras/client-scenarios.test.ts",
  "test/eras/stdio-cli.test.ts",
  "test/reliability/cli.test.ts",
  "test/reliability/cli-epipe.test.ts",
  "test/reliability/lifecycle.test.ts",
  "test/caching/replicas.test.ts",
  "test/fleet/nginx.test.ts",
  "test/fleet/haproxy.test.ts",
  "test/ship/image.test.ts",
  "test/ship/pack-install.test.ts",
];

const ALL = ["packages/*/src/**/*.test.ts", "test/**/*.test.ts", "examples/*/**/*.test.ts"];

export default defineConfig({
  // Tests import the packages' TypeScript sources (the "@fastmcp-proxy/source" export condition), not dist.
  ssr: { resolve: { conditions: ["@fastmcp-proxy/source", "module", "node", "development|production"] } },
  test: {
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // vitest's default is one worker on 2 cores; most tests wait on sockets and children, so two overlap well.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      // extends: lists are appended to the root's, so include is given per project only.
      { extends: true, test: { name: "fast", include: ALL, exclude: E2E } },
      { extends: true, test: { name: "e2e", include: E2E } },
    ],
  },
});
