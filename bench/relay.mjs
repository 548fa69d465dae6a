#!/usr/bin/env node
// node bench/relay.mjs <command> [args...]: a stdio "proxy" that parses nothing. It pipes its stdin
// to the child and the child's stdout to its stdout, so it measures the floor any proxy process in
// the chain costs on this machine (one more process, two more pipe hops per message).
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
process.stdin.on("end", () => child.stdin.end());
child.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (child.kill("SIGTERM"), process.exit(0)));
