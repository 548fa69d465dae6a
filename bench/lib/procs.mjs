// Child processes the benchmark starts: spawned here, tracked by PID, and ended by PID (with any
// descendants they started, found through /proc) when a scenario ends or the run fails.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";

const started = new Map(); // pid -> child
/** Every child ever started, with how many stderr lines and warnings it wrote (reported after the run). */
export const history = [];
const adopted = new Map(); // pid -> label: processes started for us by a library (SDK stdio transports)

/** Tracks a process a library spawned on our behalf, so it is ended with the rest. */
export function adopt(pid, label) {
  if (pid) adopted.set(pid, label);
}

/** Ends an adopted process (and its descendants) by PID, as `stop` does for our own children. */
export async function stopPid(pid, graceMs = 2000) {
  if (!pid) return;
  const family = [pid, ...descendants(pid)];
  for (const p of family) {
    try {
      process.kill(p, "SIGTERM");
    } catch {}
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && family.some(alive)) await new Promise((r) => setTimeout(r, 25));
  for (const p of family) {
    if (alive(p)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  }
  adopted.delete(pid);
}

/** Environment for children: enough to run node, nothing of ours. */
export const CHILD_ENV = Object.fromEntries(
  ["PATH", "HOME", "LANG", "TERM", "TMPDIR"].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]),
);

/** Spawns `command args`, stdin/stdout/stderr piped; the last stderr lines are kept for error reports. */
export function start(label, command, args, { cwd } = {}) {
  const child = spawn(command, args, { cwd, env: CHILD_ENV, stdio: ["pipe", "pipe", "pipe"] });
  const tail = [];
  const record = { label, pid: child.pid, lines: 0, warnings: 0, firstWarning: undefined };
  history.push(record);
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    for (const line of chunk.split("\n")) {
      if (!line.trim()) continue;
      tail.push(line);
      record.lines++;
      if (/Warning|\berror\b/i.test(line)) {
        record.warnings++;
        record.firstWarning ??= line.slice(0, 200);
      }
    }
    if (tail.length > 30) tail.splice(0, tail.length - 30);
    for (const fn of [...(child.stderrListeners ?? [])]) fn(chunk);
  });
  child.stdin.on("error", () => {});
  child.label = label;
  child.stderrTail = tail;
  child.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  if (child.pid) started.set(child.pid, child);
  child.once("exit", () => started.delete(child.pid));
  return child;
}

/**
 * Resolves with the URL a child prints as `LISTENING <url>` on stdout (our scripts) or as
 * `serving streamable HTTP on <url>` on stderr (the fastmcp-proxy CLI); rejects when it exits or times out.
 */
export function listening(child, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => fail(new Error(`${child.label}: no LISTENING line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      buffer += chunk.toString("utf8");
      const match = /(?:LISTENING|serving streamable HTTP on) (http\S+)/.exec(buffer);
      if (match) done(() => resolve(match[1]));
    };
    const onExit = (code) => fail(new Error(`${child.label} exited (${code}) before listening: ${child.stderrTail.join(" | ")}`));
    const listeners = (child.stderrListeners ??= []);
    const done = (fn) => {
      clearTimeout(timer);
      child.stdout.off("data", onData);
      if (listeners.includes(onData)) listeners.splice(listeners.indexOf(onData), 1);
      child.off("exit", onExit);
      fn();
    };
    const fail = (error) => done(() => reject(error));
    child.stdout.on("data", onData);
    listeners.push(onData);
    child.once("exit", onExit);
  });
}

/** Resolves when a line containing `text` appears on the child's stderr. */
export function stderrLine(child, text, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const listeners = (child.stderrListeners ??= []);
    const timer = setTimeout(() => {
      remove();
      reject(new Error(`${child.label}: no "${text}" on stderr within ${timeoutMs} ms`));
    }, timeoutMs);
    const fn = (chunk) => {
      if (chunk.includes(text)) {
        clearTimeout(timer);
        remove();
        resolve();
      }
    };
    const remove = () => listeners.splice(listeners.indexOf(fn), 1);
    listeners.push(fn);
  });
}

/** PIDs of every descendant of `pid` (children first found, recursively). */
export function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      let kids = "";
      try {
        kids = readFileSync(`/proc/${p}/task/${tid}/children`, "utf8");
      } catch {}
      for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

/** Whether `pid` runs (a zombie, dead but not yet reaped by its new parent, does not count). */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Ends a child we started, and whatever it started. The child goes first (SIGTERM), so that it
 * closes its own children instead of seeing them die and restarting them; its descendants are
 * collected while it lives, and whatever of them outlives it gets SIGTERM, then SIGKILL, after `graceMs`.
 */
export async function stop(child, graceMs = 2000) {
  if (!child?.pid) return;
  const family = new Set([child.pid, ...descendants(child.pid)]);
  try {
    child.stdin.end();
  } catch {}
  try {
    process.kill(child.pid, "SIGTERM");
  } catch {}
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive(child.pid)) {
    for (const pid of descendants(child.pid)) family.add(pid);
    await new Promise((r) => setTimeout(r, 25));
  }
  for (const pid of family) {
    try {
      if (alive(pid)) process.kill(pid, "SIGTERM");
    } catch {}
  }
  const late = Date.now() + Math.min(graceMs, 1000);
  while (Date.now() < late && [...family].some(alive)) await new Promise((r) => setTimeout(r, 25));
  for (const pid of family) {
    if (alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
  await Promise.race([child.exited, new Promise((r) => setTimeout(r, 1000))]);
}

/** Ends every child still running (and its descendants). Used at the end of the run and on failure. */
export async function stopAll() {
  await Promise.all([...started.values()].map((child) => stop(child, 1000)));
  await Promise.all([...adopted.keys()].map((pid) => stopPid(pid, 1000)));
}

/** Synchronous last resort for process exit: SIGKILL every tracked PID and its descendants. */
export function killAllSync() {
  for (const root of [...[...started.values()].map((c) => c.pid), ...adopted.keys()]) {
    for (const pid of [root, ...descendants(root)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
}

/** How many processes we started are still alive (tracked children and their descendants). */
export function survivors(pids) {
  return pids.filter(alive);
}

export function trackedPids() {
  return [...[...started.values()].map((c) => c.pid), ...adopted.keys()].flatMap((pid) => [pid, ...descendants(pid)]);
}

/** Resident set size of a process, in bytes (VmRSS from /proc). */
export function rss(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time (user + system) a process has used, in microseconds. */
export function cpuMicros(pid) {
  const { user, system } = cpuSplitMicros(pid);
  return user + system;
}

/** CPU time a process has used in user space and in the kernel, in microseconds (clock ticks of 10 ms: read over seconds). */
export function cpuSplitMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: (Number(fields[11]) * 1e6) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1e6) / TICKS_PER_SECOND };
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** ns on CPU of a process's threads so far (each /proc/<pid>/task/<tid>/schedstat, exact): its main thread's, and all of them. */
export function threadsCpuNs(pid) {
  let all = 0;
  let main = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const ns = Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    all += ns;
    if (Number(task) === pid) main = ns;
  }
  return { main, all };
}

/** A free TCP port on 127.0.0.1 (for programs that cannot report the port they picked). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
