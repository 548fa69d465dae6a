import { lookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";

/** What the operator allows a backend's OAuth discovery to reach beyond the public internet. */
export interface EgressOptions {
  /** Private, link-local (cloud metadata included), CGNAT and other special ranges. Default false. */
  allowPrivate?: boolean;
  /** Host names exempt from the address checks (an internal IdP, say). HTTPS still required, as for any host. */
  allowHosts?: readonly string[];
}

/** A request the egress guard refused: nothing was sent. */
export class EgressRefusedError extends Error {
  override name = "EgressRefusedError";
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** Addresses that are not the public internet: private, shared, link-local (metadata), unspecified, multicast, reserved. */
const SPECIAL = new BlockList();
for (const [net, bits] of [["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["169.254.0.0", 16], ["172.16.0.0", 12], ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 3]] as const) {
  SPECIAL.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [["::", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96], ["2001:db8::", 32]] as const) SPECIAL.addSubnet(net, bits, "ipv6");

/** An IPv4-mapped IPv6 address (`::ffff:7f00:1`) as the IPv4 address it is. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!mapped) return address;
  if (mapped[1]) return mapped[1];
  const n = (parseInt(mapped[2] as string, 16) << 16) | parseInt(mapped[3] as string, 16);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Why `address` may not be reached, or undefined when it may. */
export function addressRefusal(address: string, o: { loopback: boolean; allowPrivate: boolean }): string | undefined {
  const ip = unmapped(bare(address));
  const family = isIP(ip) === 6 ? "ipv6" : "ipv4";
  if (LOOPBACK.check(ip, family)) return o.loopback ? undefined : `${ip} is a loopback address, and the backend is not on loopback`;
  if (!o.allowPrivate && SPECIAL.check(ip, family)) return `${ip} is a private, link-local or reserved address (allow it with egress.allowPrivate)`;
  return undefined;
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, "");

function isLoopbackHost(hostname: string): boolean {
  const ip = unmapped(bare(hostname));
  return hostname === "localhost" || (isIP(ip) !== 0 && LOOPBACK.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4"));
}

/**
 * A fetch for the SDK's OAuth flow with one backend (its `auth()` discovery, registration and token
 * requests): every hop, redirects included, is checked before anything is sent. HTTPS only (HTTP on
 * loopback); loopback only when the backend itself is on loopback; no private, link-local (cloud
 * metadata) or reserved address unless allowed. Names are checked on the addresses they resolve to,
 * at connect time, so a DNS answer cannot change between the check and the connection. The
 * backend's own origin, which the operator configured, is always allowed.
 */
export function guardedFetch(backendUrl: string, options: EgressOptions = {}): typeof fetch {
  const backend = new URL(backendUrl);
  const rules = { loopback: isLoopbackHost(backend.hostname), allowPrivate: options.allowPrivate ?? false };
  const exempt = new Set([backend.hostname, ...(options.allowHosts ?? [])]);
  const dispatcher = new Agent({
    connect: {
      lookup: ((hostname, opts, callback) => {
        lookup(hostname, { ...opts, all: true }, (error, addresses) => {
          if (error) return callback(error, "");
          const refused = exempt.has(hostname) ? undefined : addresses.map((a) => addressRefusal(a.address, rules)).find(Boolean);
          if (refused) return callback(new EgressRefusedError(`refused to connect to ${hostname}: ${refused}`), "");
          if (opts.all) return callback(null, addresses);
          const [first] = addresses as [LookupAddress];
          callback(null, first.address, first.family);
        });
      }) satisfies LookupFunction,
    },
  });

  const check = (url: URL): void => {
    if (url.origin === backend.origin) return;
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) throw new EgressRefusedError(`refused ${url.origin}: an https URL is needed (http only on loopback)`);
    if (url.username || url.password) throw new EgressRefusedError(`refused ${url.origin}: a URL with credentials`);
    const refused = isIP(bare(url.hostname)) && !exempt.has(url.hostname) ? addressRefusal(url.hostname, rules) : undefined;
    if (refused) throw new EgressRefusedError(`refused ${url.origin}: ${refused}`);
  };

  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let url = new URL(input instanceof Request ? input.url : input);
    let request = init ?? {};
    const follow = request.redirect !== "manual" && request.redirect !== "error";
    for (let hop = 0; ; hop++) {
      check(url);
      let response: Response;
      try {
        response = (await undiciFetch(url, { ...(request as object), redirect: "manual", dispatcher } as never)) as unknown as Response;
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        throw cause instanceof EgressRefusedError ? cause : error;
      }
      const location = response.headers.get("location");
      if (!follow || !location || response.status < 300 || response.status > 399) return native(response);
      if (request.redirect === "error" || hop === 4) throw new EgressRefusedError(`too many redirects from ${url.origin}`);
      // 301, 302 and 303 turn a request with a body into a GET; 307 and 308 keep it.
      const method = (request.method ?? "GET").toUpperCase();
      if (response.status !== 307 && response.status !== 308 && method !== "GET" && method !== "HEAD") request = { ...request, method: "GET", body: null };
      await response.body?.cancel();
      url = new URL(location, url);
    }
  }) as typeof fetch;
}

/** Statuses whose responses have no body. */
const BODYLESS = new Set([101, 204, 205, 304]);

/**
 * undici's Response as Node's own: the SDK reads an OAuth error body only from an `instanceof
 * Response` (else its error codes, and the retries they decide, are lost to "[object Response]").
 */
function native(response: Pick<Response, "status" | "statusText" | "headers" | "body" | "url">): Response {
  if (response instanceof Response) return response;
  const copy = new Response(BODYLESS.has(response.status) ? null : response.body, { status: response.status, statusText: response.statusText, headers: response.headers });
  return Object.defineProperty(copy, "url", { value: response.url });
}
