// Defect 2 of issue 12: when the reader of the CLI's stderr went away, the next log line started an
// endless loop (the uncaughtException handler logging to the same broken stderr, 100% CPU). The
// built CLI as a real process; its CPU time is read from /proc. Only processes started here are signalled.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, FIXTURE_STDIO, ROOT } from "../cli/process.js";
import { alive, until } from "../helpers.js";

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
});

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe("a CLI whose stderr reader is gone", () => {
  it("drops its logs and keeps serving, without spinning", async () => {
    const child = spawn(process.execPath, [BIN, "--log-level", "debug", "--", ...FIXTURE_STDIO], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    started.push(child.pid!);
    let err = "";
    let out = "";
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stdin.on("error", () => {});
    await until(() => /serving stdio/.test(err), "the ready line", 15_000);
    const send = (message: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
    send({ id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
    await until(() => out.includes('"id":0'), "initialize");
    child.stderr.destroy(); // the reader goes away: the CLI's next stderr write fails with EPIPE
    send({ method: "notifications/initialized" });
    send({ id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "logged into the void" } } });
    await until(() => out.includes('"id":1'), "the call's answer");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = cpuSeconds(child.pid!);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(cpuSeconds(child.pid!) - before).toBeLessThan(0.3); // spinning, it used 0.2-1.4 s a second
    send({ id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "still serving" } } });
    await until(() => out.includes("still serving"), "a later call's answer");
    child.stdin.end();
    await until(() => child.exitCode !== null, "the exit on stdin's end", 15_000);
    expect(child.exitCode).toBe(0);
  }, 40_000);
});
