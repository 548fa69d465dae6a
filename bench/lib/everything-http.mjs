// Preloaded (--import) into @modelcontextprotocol/server-everything's streamable HTTP server for the
// benchmark. Its own defaults are port 3001 (PORT) on every interface and a log line on stdout per
// request; here it listens on 127.0.0.1 on a free port, prints the `LISTENING <url>` line the runner
// waits for, and its stdout logging is dropped (nobody reads its stdout past that line, and a full
// pipe would stop it). It also exits when the runner's end of its stdin closes (lib/child-guard.mjs).
import net from "node:net";
import "./child-guard.mjs";

process.env.PORT = "0";
console.log = () => {};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(port, ...rest) {
  this.once("listening", () => process.stdout.write(`LISTENING http://127.0.0.1:${this.address().port}/mcp\n`));
  return listen.call(this, port, "127.0.0.1", ...rest.filter((arg) => typeof arg === "function"));
};
