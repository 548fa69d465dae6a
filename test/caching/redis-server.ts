// Real redis-server processes for the tests: the one CI started (FASTMCP_TEST_REDIS_URL), or one
// of our own on a free loopback port, with no persistence, stopped by its pid.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { delimiter, join } from "node:path";

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Undefined for a server this file did not start. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export const REDIS_BINARY = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "redis-server")).find((p) => existsSync(p));
const sharedUrl = process.env.FASTMCP_TEST_REDIS_URL;

/** Whether Redis tests can run here; under CI=true, a missing Redis fails the run instead of skipping. */
export const redisAvailable = sharedUrl !== undefined || REDIS_BINARY !== undefined;
if (!redisAvailable && process.env.CI === "true") {
  throw new Error("Redis tests need redis-server: install it (apt-get install -y redis-server) or set FASTMCP_TEST_REDIS_URL");
}

/** The Redis to test against: CI's if it gave one, else a fresh one of our own. */
export async function testRedis(): Promise<RedisServer> {
  if (sharedUrl) {
    const port = Number(new URL(sharedUrl).port || 6379);
    return { url: sharedUrl, port, pid: undefined, stop: async () => {} };
  }
  return startRedis();
}

/** A new redis-server of our own (one we may kill), on a free loopback port, with any extra arguments. */
export async function startRedis(port?: number, extra: readonly string[] = []): Promise<RedisServer> {
  if (!REDIS_BINARY) throw new Error("redis-server is not installed (apt-get install -y redis-server)");
  const chosen = port ?? (await freePort());
  const child = spawn(REDIS_BINARY, ["--bind", "127.0.0.1", "--port", String(chosen), "--save", "", "--appendonly", "no", "--protected-mode", "no", ...extra], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  const deadline = Date.now() + 5000;
  while (!(await pong(chosen))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${chosen}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `redis://127.0.0.1:${chosen}`, port: chosen, pid: child.pid, stop };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether something on the port answers PING with +PONG (within 500 ms). */
export function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}
