// Loaded into benchmark child processes that do not speak on stdin (HTTP servers): they exit when
// the benchmark's end of their stdin closes, so a crashed or killed runner leaves nothing behind.
// SIGUSR2 runs a full GC (the process must run with --expose-gc) before memory is read.
// Used with `node --expose-gc --import ./lib/child-guard.mjs` for mcp-proxy too, so both proxies
// are measured the same way.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
process.on("SIGUSR2", () => {
  if (typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
  process.stderr.write("GC-DONE\n");
});
