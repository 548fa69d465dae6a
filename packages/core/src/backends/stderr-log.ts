// A stdio child's stderr, drained into the proxy's log within bounds: a child that floods stderr
// (a crash loop, a chatty debug mode) must cost neither unbounded log volume nor memory.
import type { Logger } from "../logger.js";

/** Longest stderr line logged; a longer one is cut, saying how much was left out. */
export const STDERR_LINE_CHARS = 2_000;
/** Stderr logged per child per second; past it, the rest of that second is dropped and counted. */
export const STDERR_BYTES_PER_SECOND = 64 * 1024;

/**
 * A sink for a child's stderr chunks: each line logged at debug level as `<label> stderr: <line>`
 * (the line also as the `backendStderr` field), cut at `STDERR_LINE_CHARS`, and at most
 * `STDERR_BYTES_PER_SECOND` a second; what was dropped is logged as one line when the second is
 * over (or the stream ends). A dropped chunk is counted, never decoded.
 */
export function stderrSink(label: string, logger: Logger, now: () => number = Date.now): { write(chunk: Buffer): void; end(): void } {
  let windowStart = now();
  let used = 0;
  let dropped = 0;
  const reportDropped = () => {
    if (dropped > 0) logger.debug(`${label} stderr: ${dropped} bytes dropped (over ${STDERR_BYTES_PER_SECOND} bytes a second)`);
    dropped = 0;
  };
  return {
    write(chunk) {
      if (now() - windowStart >= 1000) {
        reportDropped();
        windowStart = now();
        used = 0;
      }
      if (used >= STDERR_BYTES_PER_SECOND) {
        dropped += chunk.length;
        return;
      }
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        if (used >= STDERR_BYTES_PER_SECOND) {
          dropped += Buffer.byteLength(line) + 1;
          continue;
        }
        const shown = line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS)}… (${line.length - STDERR_LINE_CHARS} more characters)` : line;
        used += shown.length;
        logger.debug(`${label} stderr: ${shown}`, { backendStderr: shown });
      }
    },
    end: reportDropped,
  };
}
