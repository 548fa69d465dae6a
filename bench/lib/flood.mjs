// The noisy principal of bench/auth.mjs, in a process of its own: its load generator does not share
// an event loop with the measured caller's. Reads one JSON line on stdin, { endpoint, token,
// concurrency, durationMs }; opens a session, prints FLOODING, sends tools/call from `concurrency`
// workers for `durationMs` (a 429 counts as refused, not as an error), prints
// { answered, refused, seconds } as JSON and exits. It also exits when the runner's end of stdin closes.
import { keepAliveAgent, runLoad } from "./load.mjs";
import { session } from "./auth-session.mjs";

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
const call = await session(target, keepAliveAgent(config.concurrency), counted);
process.stdout.write("FLOODING\n");
const run = await runLoad(call, { concurrency: config.concurrency, maxCalls: 2_000_000, durationMs: config.durationMs, warmup: 0 });
const refused = counted.refused ?? 0;
process.stdout.write(`${JSON.stringify({ answered: run.calls - refused, refused, seconds: run.seconds, errors: run.errors })}\n`);
process.exit(0);
