#!/usr/bin/env node
// node bench/tcp-relay.mjs <backend url>: a relay below HTTP. Each client connection gets a connection
// of its own to the backend and the bytes are piped both ways as they come: no HTTP parsing, no
// framing, nothing per request. It measures what one more process in the chain costs on this machine
// when it does no work per request at all, the floor under bench/http-relay.mjs (which parses HTTP on
// both legs, as any HTTP proxy must). Prints `LISTENING <url>` when ready.
import net from "node:net";

const target = new URL(process.argv[2] ?? "");
const server = net.createServer((client) => {
  const backend = net.connect(Number(target.port), target.hostname);
  for (const socket of [client, backend]) {
    socket.setNoDelay(true);
    // Either end going away ends both.
    socket.on("error", () => (client.destroy(), backend.destroy()));
    socket.on("close", () => (client.destroy(), backend.destroy()));
  }
  client.pipe(backend);
  backend.pipe(client);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}${target.pathname}\n`));
process.on("SIGTERM", () => process.exit(0));
