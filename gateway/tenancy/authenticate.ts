import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { ApiError } from '../errors.js';
import { defaultTenant, type Tenant, type TenantPolicyDefaults } from './tenant.js';
import type { TenantDirectory } from './tenant-directory.js';

/** What a client shows of itself, from an HTTP request or a socket handshake. */
export interface Credentials {
  token: string | undefined;
  remoteAddress: string | undefined;
  /** The Host header. */
  host: string | undefined;
  /** The first header a proxy adds that the request carries (see `proxyHeaderOf`), if any. */
  proxyHeader: string | undefined;
}

/** Tells which tenant a client is; throws a 401 ApiError when it is none. */
export type Authenticate = (credentials: Credentials) => Tenant;

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, if it has one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/**
 * Headers that proxies, load balancers and mesh sidecars add. Behind one on this machine (an
 * ingress on the host, an Envoy sidecar connecting from 127.0.0.6) every client arrives from
 * loopback, so a tokenless gateway would serve the whole network as tenant `default`.
 */
const PROXY_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'via',
  'x-envoy-external-address',
  'true-client-ip',
  'cf-connecting-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
];

export function proxyHeaderOf(headers: IncomingHttpHeaders): string | undefined {
  return PROXY_HEADERS.find((name) => headers[name] !== undefined);
}

/**
 * Whether a Host header names this machine's loopback. Without tenants this is checked as well as
 * the peer address: a web page whose name was rebound to 127.0.0.1 connects from loopback too,
 * but still sends its own name.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name.toLowerCase() === 'localhost' || isLoopback(name);
}

/**
 * Checks credentials against the directory's tenants as they are at the moment of the call, so a
 * token removed from the directory is refused from its next use on.
 */
export function createAuthenticator(directory: TenantDirectory, defaults: TenantPolicyDefaults): Authenticate {
  if (!directory.tokensRequired) {
    const loopbackTenant = defaultTenant(defaults);
    return ({ remoteAddress, host, proxyHeader }) => {
      if (proxyHeader) {
        throw unauthorized(
          `no tenants are configured, so only clients on this machine are served, and this request came ` +
            `through a proxy (it carries ${proxyHeader}), which hides where it came from; configure tenants with tokens`,
        );
      }
      if (!isLoopback(remoteAddress)) {
        throw unauthorized('no tenants are configured, so only clients on this machine (loopback) are served');
      }
      if (!isLoopbackHost(host)) {
        throw unauthorized('no tenants are configured, so only http://localhost or http://127.0.0.1 is served');
      }
      return loopbackTenant;
    };
  }
  return ({ token }) => {
    if (!token) throw unauthorized('a token is required: send Authorization: Bearer <token>');
    const digest = hashToken(token);
    // Every hash is compared, so the time taken does not tell which tenant came close.
    let found: Tenant | undefined;
    for (const { tenant, tokenHashes } of directory.entries()) {
      for (const hash of tokenHashes) {
        if (timingSafeEqual(hash, digest) && !found) found = tenant;
      }
    }
    if (!found) throw unauthorized('the token is not valid');
    return found;
  };
}
