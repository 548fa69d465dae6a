// The noisy principal of bench/auth.mjs, in a process of its own: its load generator does not share
// an event loop with the measured caller's. Reads one JSON line on stdin, { endpoint, token,
// durationMs, rate } or { ..., concurrency }; opens a session, prints FLOODING, then for `durationMs`
// either offers `rate` tools/call per second whatever the answers (open loop: at most MAX_IN_FLIGHT
// unanswered, past that a send is skipped and counted), or, with `concurrency` and no rate, sends
// from that many workers as fast as they are answered (closed loop). A 429 counts as refused, not as
// an error. Prints { offered, answered, refused, skipped, errors, seconds } as JSON and exits. It also
// exits when the runner's end of stdin closes.
import { keepAliveAgent, runLoad } from "./load.mjs";
import { session } from "./auth-session.mjs";

const MAX_IN_FLIGHT = 64;
const SOCKETS = 16;

process.stdin.setEncoding("utf8");
let buffer = "";
const config = await new Promise((resolve) => {
  process.stdin.on("data", function first(chunk) {
    buffer += chunk;
    const end = buffer.indexOf("\n");
    if (end < 0) return;
    process.stdin.off("data", first);
    resolve(JSON.parse(buffer.slice(0, end)));
  });
});
process.stdin.on("end", () => process.exit(0));

const counted = {};
const target = { resource: config.endpoint, headers: { authorization: `Bearer ${config.token}` } };
const call = await session(target, keepAliveAgent(config.rate ? SOCKETS : config.concurrency), counted);
process.stdout.write("FLOODING\n");
const cpuAtStart = process.cpuUsage();
const result = config.rate ? await offer(call, config.rate, config.durationMs) : await closedLoop(call, config.concurrency, config.durationMs);
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(`${JSON.stringify({ ...result, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
process.exit(0);

async function closedLoop(call, concurrency, durationMs) {
  const run = await runLoad(call, { concurrency, maxCalls: 2_000_000, durationMs, warmup: 0 });
  const refused = counted.refused ?? 0;
  return { offered: run.calls + run.errors, answered: run.calls - refused, refused, skipped: 0, errors: run.errors, seconds: run.seconds };
}

/** `rate` calls a second on a fixed schedule (checked every ms), for `durationMs`; waits for the last answers (at most 5 s). */
async function offer(call, rate, durationMs) {
  let offered = 0;
  let skipped = 0;
  let done = 0;
  let errors = 0;
  const start = performance.now();
  const settle = () => void done++;
  const fail = () => void (done++, errors++);
  for (let now = start; now - start < durationMs; now = performance.now()) {
    const due = Math.floor(((now - start) * rate) / 1000);
    while (offered + skipped < due) {
      if (offered - done >= MAX_IN_FLIGHT) skipped++;
      else {
        offered++;
        call().then(settle, fail);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const seconds = (performance.now() - start) / 1000;
  for (let waited = 0; done < offered && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  const refused = counted.refused ?? 0;
  return { offered, answered: done - errors - refused, refused, skipped, errors, seconds };
}
