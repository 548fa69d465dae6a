import { ProxyError, ProxyErrorCode } from "../errors.js";
import type { ProxyMethod, ResultOf } from "../methods.js";
import type { ProxyContext } from "./context.js";

export type Next<M extends ProxyMethod> = () => Promise<ResultOf<M>>;

/** Middleware for one method: `use("tools/call", mw)`. */
export type ProxyMiddleware<M extends ProxyMethod> = (ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>;

/** Method-agnostic middleware: a generic function, so it fits every method's chain. */
export type Middleware = <M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>;

export type Terminal<M extends ProxyMethod> = (ctx: ProxyContext<M>) => Promise<ResultOf<M>>;

/** Koa-style onion: each middleware returns the result of the layers inside it. */
export function compose<M extends ProxyMethod>(
  middleware: readonly ProxyMiddleware<M>[],
  terminal: Terminal<M>,
): Terminal<M> {
  if (middleware.length === 0) return terminal;
  return function composed(ctx) {
    let called = -1;
    const dispatch = (i: number): Promise<ResultOf<M>> => {
      if (i <= called) {
        return Promise.reject(
          new ProxyError(ProxyErrorCode.MiddlewareMisuse, `next() called more than once in middleware "${middleware[i - 1]?.name || "anonymous"}"`),
        );
      }
      called = i;
      const layer = middleware[i];
      try {
        // Inside the try: a synchronous throw still reaches the middleware as a rejection.
        return layer ? layer(ctx, () => dispatch(i + 1)) : terminal(ctx);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}
