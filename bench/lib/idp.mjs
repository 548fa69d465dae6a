// The benchmarks' identity provider: an ES256 key whose JWKS is served on loopback, and access
// tokens signed with it (scope "mcp", one hour) for a subject and an audience.
import http from "node:http";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

export async function startIdp() {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256" };
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    tokenFor: (subject, audience) =>
      new SignJWT({ scope: "mcp" }).setProtectedHeader({ alg: "ES256", kid: "bench" }).setIssuer(issuer).setSubject(subject).setAudience(audience).setExpirationTime("1h").sign(privateKey),
    close: () => server.close(),
  };
}
