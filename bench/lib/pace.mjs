// bench/auth.mjs's measured caller's calls, paced, at c=1 (in auth.mjs's process, or in her own:
// lib/paced.mjs): one started every 1/perSecond s (at once when the last one took longer), or, with
// `poisson`, at exponential gaps of the same mean (independent arrivals, rather than a fixed beat that
// may keep step with a timer of the proxy's). Latencies in µs, errors, and each call over SLOW_MICROS
// as [start (epoch ms), µs], for the runner to match against its GC pauses.
export const SLOW_MICROS = 2000;

export async function pace(call, { perSecond, durationMs, poisson = false }) {
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
