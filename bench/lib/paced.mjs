// bench/auth.mjs's measured caller (alice) in a process of her own, with --alice-process: her client
// then shares no event loop with the proxy, as a real client does not. Reads one JSON line on stdin,
// { endpoint, token }, opens a session and prints READY; then, for each line { perSecond, durationMs,
// poisson }, calls at that pace at c=1 (at once when the last call took longer) and prints
// { samples (µs), errors, slow } as JSON: slow holds [start (epoch ms), µs] of each call over 2 ms,
// for the runner to match against its own GC pauses. Exits when stdin closes.
import { createInterface } from "node:readline";
import { keepAliveAgent } from "./load.mjs";
import { session } from "./auth-session.mjs";

const SLOW_MICROS = 2000;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const { endpoint, token } = JSON.parse((await lines.next()).value);
const call = await session({ resource: endpoint, headers: { authorization: `Bearer ${token}` } }, keepAliveAgent(1));
process.stdout.write("READY\n");
for (let line = await lines.next(); !line.done; line = await lines.next()) {
  const { perSecond, durationMs, poisson } = JSON.parse(line.value);
  process.stdout.write(`${JSON.stringify(await paced(perSecond, durationMs, poisson))}\n`);
}
process.exit(0);

async function paced(perSecond, durationMs, poisson) {
  const samples = [];
  const slow = [];
  let errors = 0;
  const gap = 1000 / perSecond;
  const end = performance.now() + durationMs;
  let next = performance.now();
  while (performance.now() < end && samples.length + errors < perSecond * 60) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    next += poisson ? -Math.log(1 - Math.random()) * gap : gap;
    const started = performance.now();
    try {
      await call();
      const micros = (performance.now() - started) * 1000;
      samples.push(micros);
      if (micros > SLOW_MICROS) slow.push([performance.timeOrigin + started, micros]);
    } catch {
      errors++;
    }
  }
  return { samples, errors, slow };
}
