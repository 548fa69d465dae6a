// The proxy's own logs under faults and with secrets about (issue 12): a broken stderr never
// loops (defect 2), and token shapes and configured secret values never reach a log line.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { REDACTED, redactValues, safeStderr, scrubCredentials, stderrLogger } from "../../packages/core/src/logger.js";

describe("a broken log stream", () => {
  it("is written to no more once its reader is gone (EPIPE): no uncaught error, no loop", async () => {
    // A real pipe whose reader closes its end (and stays alive a moment): the next writes fail with EPIPE.
    const script = `process.stdin.destroy(); require("fs").closeSync(0); process.stdout.write("closed\\n"); setTimeout(() => {}, 3000);`;
    const reader = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "ignore"] });
    await once(reader.stdout!, "data");
    const stream = reader.stdin!;
    let writes = 0;
    const write = stream.write.bind(stream);
    stream.write = ((...args: Parameters<typeof write>) => (writes++, write(...args))) as typeof stream.write;
    let gone = 0;
    const log = stderrLogger("debug", safeStderr(stream, () => gone++, stream));
    log.error("first line, into a pipe nobody reads");
    await new Promise((resolve) => setTimeout(resolve, 50)); // the EPIPE arrives as an 'error' event
    for (let i = 0; i < 10_000; i++) log.error(`line ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes).toBe(1);
    expect(gone).toBe(1); // "stdout" (the same stream here) is gone too: the owner is told, once
    expect(safeStderr(stream)).toBe(safeStderr(stream)); // one guard per stream
    expect(stream.listenerCount("error")).toBe(1);
    reader.kill();
  });

  it("does not throw when the stream throws", () => {
    const stream = { on: () => stream, write: () => { throw new Error("EBADF"); } } as unknown as NodeJS.WritableStream;
    const write = safeStderr(stream);
    expect(() => { write("a\n"); write("b\n"); }).not.toThrow();
  });
});

describe("redaction of token shapes and configured secrets", () => {
  const tokens = [
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "glpat-xxxxXXXXxxxxXXXXxxxx",
    "sk-" + "proj-Ab12Cd34Ef56Gh78Ij90Kl12",
    "sk-ant-api03-abcdefghijklmnopqrstuvwx",
    "sk-" + "abcdefghijklmnop1234",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "xoxb-123456789012-abcdefghijkl",
    "AKIAIOSFODNN7EXAMPLE",
    "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNlY3JldA",
  ];

  it.each(tokens)("scrubs %s with no key next to it", (token) => {
    const out = scrubCredentials(`tool result: here it is ${token}, and "${token}" again`);
    expect(out).not.toContain(token);
    expect(out).toBe(`tool result: here it is ${REDACTED}, and "${REDACTED}" again`);
  });

  it("scrubs PEM private keys", () => {
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    expect(scrubCredentials(`key: ${pem} done`)).toBe(`key: ${REDACTED} done`);
  });

  it("scrubs the value after a command-line flag named for a credential, and no other flag's", () => {
    const line = 'stdio "node server.js --api-key abc123 --port 8080 --client-secret=xyz789 -v --token T0k3n"';
    expect(scrubCredentials(line)).toBe(`stdio "node server.js --api-key ${REDACTED} --port 8080 --client-secret=${REDACTED} -v --token ${REDACTED}"`);
  });

  it("leaves ordinary words alone", () => {
    const text = "risk-free task-manager desk-lamp sk- ghp_short AKIA xoxb- skeleton github_pat_";
    expect(scrubCredentials(text)).toBe(text);
  });

  it("scrubs the values of configured secrets wherever they appear, in messages and fields", () => {
    const lines: string[] = [];
    const log = stderrLogger("debug", (line) => void lines.push(line));
    redactValues(["s3cr3t-Value-From-ENV", "short", "another.secret*value"]);
    log.debug("backend said: env DB_PASS=s3cr3t-Value-From-ENV", { result: { text: "echo another.secret*value" }, plain: "short" });
    expect(lines.join("")).not.toContain("s3cr3t-Value-From-ENV");
    expect(lines.join("")).not.toContain("another.secret*value");
    expect(lines.join("")).toContain("plain\":\"short\""); // too short to be replaced everywhere
    expect(lines.join("")).toContain(`DB_PASS=${REDACTED}`);
  });
});
