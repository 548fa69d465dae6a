#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist (built by `pnpm install` / `pnpm build`).
import { main } from "../dist/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = typeof code === "number" ? code : 0;
    // The proxy is closed; should a stray handle keep the event loop alive, do not hang on it.
    setTimeout(() => process.exit(), 2000).unref();
  },
  (error) => {
    process.stderr.write(`fastmcp-proxy: ${error?.message ?? error}\n`);
    process.exit(1);
  },
);
