#!/usr/bin/env node
// PROTOTYPE for `pnpm bench --experiments`: the least a message-aware stdio proxy must do per
// message, with no SDK Protocol in between. Each line is parsed, its id remapped (as a proxy with
// several clients must), re-serialised and written, in both directions, with writes coalesced per
// tick. What FastMCPProxy costs above this is what a core fast path could save.
//   node bench/experiments/json-forwarder.mjs <command> [args...]
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });

function batchWriter(stream) {
  let queue = [];
  const flush = () => {
    stream.write(queue.length === 1 ? queue[0] : queue.join(""));
    queue = [];
  };
  return (line) => {
    if (queue.push(line) === 1) process.nextTick(flush);
  };
}

function lines(stream, onMessage) {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    const data = pending + chunk;
    let start = 0;
    let i;
    while ((i = data.indexOf("\n", start)) !== -1) {
      const line = data.slice(start, i);
      start = i + 1;
      if (line) onMessage(JSON.parse(line));
    }
    pending = data.slice(start);
  });
}

const toChild = batchWriter(child.stdin);
const toClient = batchWriter(process.stdout);
const inFlight = new Map(); // our id -> the client's id
let nextId = 1;

lines(process.stdin, (message) => {
  if (message.method !== undefined && message.id !== undefined) {
    const id = nextId++;
    inFlight.set(id, message.id);
    message.id = id;
  }
  toChild(`${JSON.stringify(message)}\n`);
});
lines(child.stdout, (message) => {
  if (message.method === undefined && message.id !== undefined && inFlight.has(message.id)) {
    const original = inFlight.get(message.id);
    inFlight.delete(message.id);
    message.id = original;
  }
  toClient(`${JSON.stringify(message)}\n`);
});
process.stdin.on("end", () => child.stdin.end());
child.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (child.kill("SIGTERM"), process.exit(0)));
