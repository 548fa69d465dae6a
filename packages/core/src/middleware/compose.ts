import { ProxyError, ProxyErrorCode } from "../errors.js";
import type { ProxyMethod, ResultOf } from "../methods.js";
import type { AnyProxyContext, ProxyContext } from "./context.js";

export type Next<M extends ProxyMethod> = () => Promise<ResultOf<M>>;

/** Middleware for one method: `use("tools/call", mw)`. */
export type ProxyMiddleware<M extends ProxyMethod> = (ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>;

/**
 * Method-agnostic middleware, for every method's chain. Its context is the union of every
 * method's, so `if (ctx.method === "tools/call")` narrows `ctx.params` to that method's.
 */
export type Middleware = (ctx: AnyProxyContext, next: Next<ProxyMethod>) => Promise<ResultOf<ProxyMethod>>;

export type Terminal<M extends ProxyMethod> = (ctx: ProxyContext<M>) => Promise<ResultOf<M>>;

/**
 * Koa-style onion: one middleware made of several, each returning the result of the layers inside
 * it, so compositions nest. `next()` called twice in one layer rejects with MiddlewareMisuse.
 */
export function compose(middleware: readonly Middleware[]): Middleware;
export function compose<M extends ProxyMethod>(middleware: readonly ProxyMiddleware<M>[]): ProxyMiddleware<M>;
export function compose<M extends ProxyMethod>(middleware: readonly ProxyMiddleware<M>[]): ProxyMiddleware<M> {
  return function composed(ctx: ProxyContext<M>, next: Next<M>) {
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
        return layer ? layer(ctx, () => dispatch(i + 1)) : next();
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}
