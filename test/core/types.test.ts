// Type-level tests: checked by `tsc -p test` (part of `npm test`), so a wrong type fails the run.
// `@ts-expect-error` lines fail the check when the error they expect is gone.
import { describe, expectTypeOf, it } from "vitest";
import { FastMCPProxy, compose, type AnsweredContext, type Middleware, type ProxyContext, type ProxyMiddleware, type ResultOf } from "@fastmcp-proxy/core";

declare module "@fastmcp-proxy/core" {
  interface ProxyState {
    /** Added by a package through augmentation. */
    tenant?: string;
  }
}

describe("middleware types", () => {
  it("narrow ctx.params on ctx.method in method-agnostic middleware, without casts", () => {
    const mw: Middleware = async (ctx, next) => {
      if (ctx.method === "tools/call") {
        expectTypeOf(ctx.params.name).toEqualTypeOf<string>();
        expectTypeOf(ctx.params.arguments).toEqualTypeOf<Record<string, unknown> | undefined>();
      }
      if (ctx.method === "resources/read") expectTypeOf(ctx.params.uri).toEqualTypeOf<string>();
      // @ts-expect-error: a tools/list request has no name
      if (ctx.method === "tools/list") void ctx.params.name;
      return next();
    };
    expectTypeOf(mw).toBeFunction();
  });

  it("narrow afterForward's result on ctx.method, without casts", () => {
    const after = (ctx: AnsweredContext) => {
      if (ctx.method === "prompts/get") {
        expectTypeOf(ctx.result).toEqualTypeOf<ResultOf<"prompts/get">>();
        expectTypeOf(ctx.params.name).toEqualTypeOf<string>();
      }
      if (ctx.method === "tools/call") expectTypeOf(ctx.result).toEqualTypeOf<ResultOf<"tools/call">>();
      // @ts-expect-error: a tools/list result has no messages
      if (ctx.method === "tools/list") void ctx.result.messages.length;
      return ctx.result;
    };
    expectTypeOf(after).toBeFunction();
  });

  it("type a method's middleware by its params and result", () => {
    const mw: ProxyMiddleware<"tools/call"> = async (ctx, next) => {
      expectTypeOf(ctx.params.name).toEqualTypeOf<string>();
      const result = await next();
      expectTypeOf(result).toEqualTypeOf<ResultOf<"tools/call">>();
      return result;
    };
    expectTypeOf(FastMCPProxy.prototype.use).toBeFunction();
    expectTypeOf(mw).toMatchTypeOf<ProxyMiddleware<"tools/call">>();
    // @ts-expect-error: a tools/call middleware does not fit prompts/get
    const wrong: ProxyMiddleware<"prompts/get"> = mw;
    void wrong;
  });

  it("compose returns a middleware, so compositions nest", () => {
    const a: Middleware = async (_ctx, next) => next();
    const inner = compose([a, a]);
    const outer = compose([a, inner]);
    expectTypeOf(outer).toEqualTypeOf<Middleware>();
  });

  it("let packages augment ProxyState", () => {
    const mw: Middleware = async (ctx, next) => {
      expectTypeOf(ctx.state.tenant).toEqualTypeOf<string | undefined>();
      ctx.state.tenant = "acme";
      // @ts-expect-error: nobody declared this field
      ctx.state.undeclared = 1;
      return next();
    };
    expectTypeOf(mw).toBeFunction();
    expectTypeOf<ProxyContext["state"]>().toHaveProperty("tenant");
  });
});
