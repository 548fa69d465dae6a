import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { workloadIdentityProvider } from "./workload-identity.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function jwtFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "workload-"));
  dirs.push(dir);
  const file = join(dir, "token");
  writeFileSync(file, content);
  return file;
}

const assertionOf = async (provider: ReturnType<typeof workloadIdentityProvider>) => (await provider.prepareTokenRequest?.())?.get("assertion");

describe("workloadIdentityProvider", () => {
  it("reads the workload's JWT again for every token request: the platform rotates it in place", async () => {
    const file = jwtFile("first.jwt.value\n");
    const provider = workloadIdentityProvider("wl", { clientId: "wl", tokenFile: file, scope: "read" });
    const request = await provider.prepareTokenRequest?.();
    expect(Object.fromEntries(request ?? [])).toEqual({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: "first.jwt.value", scope: "read" });
    writeFileSync(file, "second.jwt.value");
    expect(await assertionOf(provider)).toBe("second.jwt.value");
  });

  it("reads it from the variable the operator names, at each request", async () => {
    const provider = workloadIdentityProvider("wl", { clientId: "wl", tokenEnv: "WORKLOAD_TEST_JWT" });
    process.env.WORKLOAD_TEST_JWT = "from.the.env";
    try {
      expect(await assertionOf(provider)).toBe("from.the.env");
      process.env.WORKLOAD_TEST_JWT = "";
      expect(() => provider.prepareTokenRequest?.()).toThrow(/^backend "wl" \(workload_identity\): tokenEnv WORKLOAD_TEST_JWT holds no token$/);
    } finally {
      delete process.env.WORKLOAD_TEST_JWT;
    }
  });

  it("a refused JWT is not sent again; the next one is", async () => {
    const file = jwtFile("refused.jwt.value");
    const provider = workloadIdentityProvider("wl", { clientId: "wl", tokenFile: file });
    expect(await assertionOf(provider)).toBe("refused.jwt.value");
    // What the SDK does when the token endpoint answers invalid_grant, before it tries again.
    await provider.invalidateCredentials?.("tokens");
    expect(() => provider.prepareTokenRequest?.()).toThrow(/refused the workload's JWT; it is not sent again until it changes/);
    writeFileSync(file, "rotated.jwt.value");
    expect(await assertionOf(provider)).toBe("rotated.jwt.value");
  });

  it("names a file it cannot read", () => {
    const provider = workloadIdentityProvider("wl", { clientId: "wl", tokenFile: "/nonexistent/workload/token" });
    expect(() => provider.prepareTokenRequest?.()).toThrow(/^backend "wl" \(workload_identity\): cannot read tokenFile \/nonexistent\/workload\/token: ENOENT/);
  });
});
