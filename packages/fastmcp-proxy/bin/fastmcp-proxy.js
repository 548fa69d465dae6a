#!/usr/bin/env node
// `npx fastmcp-proxy`: the command of @fastmcp-proxy/cli, published under its unscoped name.
import "@fastmcp-proxy/cli/bin";
