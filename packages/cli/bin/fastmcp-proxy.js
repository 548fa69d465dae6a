#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist (built by `pnpm install` / `pnpm build`).
import { main } from "../dist/main.js";

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === "number") process.exitCode = code; },
  (error) => { process.stderr.write(`fastmcp-proxy: ${error?.message ?? error}\n`); process.exitCode = 1; },
);
