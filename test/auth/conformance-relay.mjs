// The conformance runner's "client command": hands the scenario (its server URL, name and
// context) to the test process driving the proxy, and exits with that drive's outcome.
//   node conformance-relay.mjs <driver port> <server url>
const [port, serverUrl] = process.argv.slice(2);
const response = await fetch(`http://127.0.0.1:${port}/drive`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    serverUrl,
    scenario: process.env.MCP_CONFORMANCE_SCENARIO,
    protocolVersion: process.env.MCP_CONFORMANCE_PROTOCOL_VERSION,
    context: process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {},
  }),
  signal: AbortSignal.timeout(250_000),
});
const outcome = await response.json();
process.stderr.write(outcome.log ?? "");
process.exit(outcome.ok ? 0 : 1);
