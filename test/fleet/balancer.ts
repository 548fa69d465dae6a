// A fleet on loopback for the fleet tests: replicas of the built CLI, and a real load balancer (nginx,
// HAProxy) in front of them, run with the configuration docs/deployment.md shows. Every wait is
// bounded; only processes started here are signalled, by PID.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll } from "vitest";
import { freePort, testRedis, type RedisServer } from "../caching/redis-server.js";
import { FIXTURE, ROOT, SERVING_HTTP, startCli, stopAll, type CliProcess } from "../cli/process.js";

/** The name clients use, as the load balancer forwards it in Host (the replicas' --allowed-host). */
export const PUBLIC_HOST = "mcp.example.com";

/** A binary on PATH or in /usr/sbin (where Debian puts nginx and haproxy), if installed. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  return dirs.map((dir) => join(dir, name)).find((path) => path !== name && existsSync(path));
}

/** The fenced block of `language` under the heading `heading` in docs/deployment.md. */
export function deploymentConfig(heading: string, language: string): string {
  const doc = readFileSync(join(ROOT, "docs/deployment.md"), "utf8");
  const section = doc.split(/^#+ /m).find((part) => part.startsWith(`${heading}\n`));
  const block = section && new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "m").exec(section)?.[1];
  if (!block) throw new Error(`docs/deployment.md has no \`\`\`${language} block under "${heading}"`);
  return block;
}

/** `text` with each match of `pattern` replaced by the next of `values`; there must be exactly as many matches. */
export function substitute(text: string, pattern: RegExp, values: string[]): string {
  let i = 0;
  const out = text.replace(pattern, (...match) => {
    const groups = match.slice(1, -2) as string[];
    return `${groups[0] ?? ""}${values[i++] ?? "MISSING"}${groups[1] ?? ""}`;
  });
  if (i !== values.length) throw new Error(`expected ${values.length} matches of ${pattern} in the documented config, found ${i}`);
  return out;
}

export interface Replica {
  readonly cli: CliProcess;
  /** host:port of its MCP endpoint, as the load balancer names it. */
  readonly address: string;
  /** The port of /healthz and /readyz (--ops-port). */
  readonly opsPort: number;
}

/**
 * The fixture served over streamable HTTP (legacy era), in a process of its own: the fleet's one
 * backend. An HTTP backend, as docs/deployment.md recommends for a fleet: a stdio one would get a
 * child per client session on every replica the session reaches.
 */
export async function startHttpFixture(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [FIXTURE, "http", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = () => stopChild(child, exited);
  let out = "";
  const url = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 15_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const match = /^LISTENING (\S+)/m.exec(out);
      if (match) (clearTimeout(timer), resolve(match[1]));
    });
    child.once("exit", () => (clearTimeout(timer), resolve(undefined)));
  });
  if (!url) {
    await stop();
    throw new Error(`the HTTP fixture did not start: ${out}`);
  }
  return { url, stop };
}

/**
 * `count` replicas of the CLI sharing a fleet key, the Redis event store and the public host name,
 * each proxying `backend` (a URL, or a command after --).
 */
export async function startReplicas(count: number, options: { redisUrl: string; backend: string[]; extra?: string[] }): Promise<Replica[]> {
  const env = { ...process.env, FLEET_KEY: randomBytes(32).toString("base64") };
  const args = [
    "--transport", "http", "--port", "0", "--ops-port", "0",
    "--fleet-key-env", "FLEET_KEY",
    "--event-store", options.redisUrl,
    "--allowed-host", PUBLIC_HOST,
    "--ready-when", "any",
    "--log-level", "warn",
    "--drain-timeout", "1000", // a stopped test replica need not wait for held calls the clients abandoned
    ...(options.extra ?? []),
    ...options.backend,
  ];
  const clis = Array.from({ length: count }, () => startCli(args, { env }));
  return Promise.all(
    clis.map(async (cli) => {
      const [, url] = await cli.waitForStderr(SERVING_HTTP, 20_000);
      const [, ops] = await cli.waitForStderr(/health on (http:\/\/\S+)\/healthz/);
      return { cli, address: new URL(url!).host, opsPort: Number(new URL(ops!).port) };
    }),
  );
}

/** A load balancer process of ours, stopped by its PID. */
export interface Balancer {
  /** The MCP endpoint clients use (on 127.0.0.1; send Host: PUBLIC_HOST). */
  readonly url: string;
  /** Its log (nginx's error log, HAProxy's stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Runs `command` in the foreground, and waits until `port` accepts connections. */
export async function startBalancer(command: string, args: string[], port: number, logFile?: string): Promise<Balancer> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const log = () => stderr + (logFile && existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const balancer: Balancer = { url: `http://127.0.0.1:${port}/mcp`, log, stop: () => stopChild(child, exited) };
  for (const deadline = Date.now() + 10_000; !(await accepts(port)); ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await balancer.stop();
      throw new Error(`${command} did not start on port ${port}:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return balancer;
}

/**
 * nginx with the documented config: the three `server` lines pointed at `replicas`, `listen` at `port`,
 * wrapped in the main context a foreground nginx needs in a directory of its own.
 */
export async function startNginx(binary: string, replicas: Replica[], port: number): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), "fleet-nginx-"));
  let site = substitute(deploymentConfig("nginx", "nginx"), /^(\s*server )\S+:8000(;)/gm, replicas.map((r) => r.address));
  site = substitute(site, /^(\s*listen )80(;)/m, [`127.0.0.1:${port}`]);
  writeFileSync(join(dir, "site.conf"), site);
  const errorLog = join(dir, "error.log");
  writeFileSync(
    join(dir, "nginx.conf"),
    [
      "worker_processes 1;",
      `pid ${join(dir, "nginx.pid")};`,
      `error_log ${errorLog} warn;`,
      "events { worker_connections 1024; }",
      "http {",
      "    access_log off;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `    ${kind}_temp_path ${join(dir, kind)};`),
      `    include ${join(dir, "site.conf")};`,
      "}",
      "",
    ].join("\n"),
  );
  const balancer = await startBalancer(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", errorLog, "-g", "daemon off;"], port, errorLog);
  return { ...balancer, stop: () => balancer.stop().finally(() => rmSync(dir, { recursive: true, force: true })) };
}

/**
 * HAProxy with the documented config: the `server` lines pointed at `replicas` (address and check
 * port), `bind` at `port`; in the foreground (-db).
 */
export async function startHaproxy(binary: string, replicas: Replica[], port: number): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), "fleet-haproxy-"));
  let config = deploymentConfig("HAProxy", "haproxy");
  config = substitute(config, /^(\s*server replica\d )\S+:8000( )/gm, replicas.map((r) => r.address));
  config = substitute(config, /( check port )9000( )/g, replicas.map((r) => String(r.opsPort)));
  config = substitute(config, /^(\s*bind ):80()$/m, [`127.0.0.1:${port}`]);
  writeFileSync(join(dir, "haproxy.cfg"), config);
  const balancer = await startBalancer(binary, ["-db", "-f", join(dir, "haproxy.cfg")], port);
  return { ...balancer, stop: () => balancer.stop().finally(() => rmSync(dir, { recursive: true, force: true })) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** One request as a client's fetch made it, and which replica answered (the balancer's X-Served-By). */
export interface Exchange {
  method: string;
  status: number;
  servedBy: string;
}

/**
 * A fetch for SDK clients that sends Host: PUBLIC_HOST, as a client resolving the public name to the
 * balancer would (Node's fetch does not let a caller set Host). Each exchange is recorded in `log`.
 */
export function publicFetch(log: Exchange[] = []): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers));
      headers.host = PUBLIC_HOST;
      const method = init.method ?? "GET";
      const req = request(new URL(url), { method, headers, signal: init.signal ?? undefined }, (res) => {
        log.push({ method, status: res.statusCode!, servedBy: String(res.headers["x-served-by"] ?? "") });
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) responseHeaders.append(name, v);
        const empty = [204, 205, 304].includes(res.statusCode!);
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream), { status: res.statusCode, statusText: res.statusMessage, headers: responseHeaders }));
      });
      req.once("error", reject);
      req.end(typeof init.body === "string" ? init.body : undefined);
    });
}

/**
 * The fleet every balancer test runs, set up once per file: a Redis, one HTTP backend and three
 * replicas behind the balancer `start` runs; torn down after the file. Its fields are set in beforeAll.
 */
export function fleetBehind(start: (replicas: Replica[], port: number) => Promise<Balancer>): { replicas: Replica[]; balancer: Balancer } {
  const fleet = {} as { replicas: Replica[]; balancer: Balancer };
  let redis: RedisServer | undefined;
  let backend: { stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    redis = await testRedis();
    const fixture = (backend = await startHttpFixture());
    fleet.replicas = await startReplicas(3, { redisUrl: redis.url, backend: [fixture.url] });
    fleet.balancer = await start(fleet.replicas, await freePort());
  }, 30_000);
  afterAll(async () => {
    await fleet.balancer?.stop();
    await stopAll();
    await backend?.stop();
    await redis?.stop();
  });
  return fleet;
}
