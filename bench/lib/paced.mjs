// bench/auth.mjs's measured caller (alice) in a process of her own, with --alice-process: her client
// then shares no event loop with the proxy, as a real client does not. Reads one JSON line on stdin,
// { endpoint, token }, opens a session and prints READY; then, for each line { perSecond, durationMs,
// poisson }, calls at that pace (lib/pace.mjs) and prints what `pace` found as JSON. Exits when
// stdin closes.
import { createInterface } from "node:readline";
import { keepAliveAgent } from "./load.mjs";
import { pace } from "./pace.mjs";
import { session } from "./auth-session.mjs";

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const { endpoint, token } = JSON.parse((await lines.next()).value);
const call = await session({ resource: endpoint, headers: { authorization: `Bearer ${token}` } }, keepAliveAgent(1));
process.stdout.write("READY\n");
for (let line = await lines.next(); !line.done; line = await lines.next()) {
  const { perSecond, durationMs, poisson } = JSON.parse(line.value);
  process.stdout.write(`${JSON.stringify(await pace(call, { perSecond, durationMs, poisson }))}\n`);
}
process.exit(0);
