import { describe, expect, it } from "vitest";
import { actsPerCaller } from "./origin.js";

describe("actsPerCaller", () => {
  const backend = (auth: object | undefined) => ({ config: auth ? { auth } : {} }) as never;

  it("is true for the auth kinds that use each caller's own token, id_jag included unless it has one idToken for all", () => {
    for (const type of ["passthrough", "token_exchange", "per_user", "id_jag"]) expect(actsPerCaller(backend({ type }))).toBe(true);
    expect(actsPerCaller(backend({ type: "id_jag", idToken: "eyJ.operator.token" }))).toBe(false);
    expect(actsPerCaller(backend({ type: "client_credentials" }))).toBe(false);
    expect(actsPerCaller(backend(undefined))).toBe(false);
  });
});
