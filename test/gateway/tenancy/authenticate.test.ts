import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseConfig } from '../../../gateway/config.js';
import { ApiError } from '../../../gateway/errors.js';
import {
  bearerToken,
  createAuthenticator,
  isLoopback,
  isLoopbackHost,
  proxyHeaderOf,
} from '../../../gateway/tenancy/authenticate.js';
import { configuredTenants } from '../../../gateway/tenancy/tenant-directory.js';

const sha256Hex = (token: string) => createHash('sha256').update(token).digest('hex');
const status401 = (error: unknown) => error instanceof ApiError && error.status === 401;
const client = (token: string | undefined, remoteAddress: string | undefined, host = 'localhost:8080') => ({
  token,
  remoteAddress,
  host,
  proxyHeader: undefined,
});

describe('createAuthenticator', () => {
  describe('with tenants', () => {
    const config = parseConfig({
      tenants: [
        { name: 'alpha', tokenSha256: [sha256Hex('a1'), sha256Hex('a2')], maxConcurrent: 3 },
        { name: 'beta', tokenSha256: [sha256Hex('b1')] },
      ],
      tenantDefaults: { maxConcurrent: 7 },
    });
    const authenticate = createAuthenticator(configuredTenants(config), config);

    it('should find the tenant when any of its tokens is given', () => {
      assert.equal(authenticate(client('a1', '203.0.113.1')).name, 'alpha');
      assert.equal(authenticate(client('a2', '203.0.113.1')).name, 'alpha');
      assert.equal(authenticate(client('b1', '203.0.113.1')).name, 'beta');
    });

    it("should fill the tenant's policy from the defaults when it sets none", () => {
      assert.equal(authenticate(client('a1', undefined)).maxConcurrent, 3);
      assert.equal(authenticate(client('b1', undefined)).maxConcurrent, 7);
    });

    it('should refuse with 401 when the token is missing or unknown, even from loopback', () => {
      assert.throws(() => authenticate(client(undefined, '127.0.0.1')), status401);
      assert.throws(() => authenticate(client('nope', '127.0.0.1')), status401);
      assert.throws(() => authenticate(client(sha256Hex('a1'), '127.0.0.1')), status401);
    });
  });

  describe('without tenants', () => {
    const config = parseConfig({});
    const authenticate = createAuthenticator(configuredTenants(config), config);

    it('should serve loopback clients as the default tenant', () => {
      for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
        assert.equal(authenticate(client(undefined, address)).name, 'default', address);
      }
    });

    it('should refuse with 401 when a loopback client names another host', () => {
      for (const host of ['evil.example:8080', 'evil.example', '203.0.113.1:8080', undefined]) {
        assert.throws(() => authenticate({ ...client(undefined, '127.0.0.1'), host }), status401);
      }
    });

    it('should refuse with 401 naming the header when a loopback request came through a proxy', () => {
      for (const [name, value] of [
        ['x-forwarded-for', '198.51.100.7'],
        ['forwarded', 'for=198.51.100.7'],
        ['x-real-ip', '198.51.100.7'],
        ['via', '1.1 envoy'],
        ['x-envoy-external-address', '198.51.100.7'],
      ] as const) {
        // An Envoy sidecar connects from 127.0.0.6 with the pod's own Host.
        const proxyHeader = proxyHeaderOf({ host: 'localhost:8080', [name]: value });
        assert.throws(
          () => authenticate({ ...client(undefined, '127.0.0.6'), proxyHeader }),
          (error: unknown) => status401(error) && (error as ApiError).message.includes(name),
          name,
        );
      }
    });

    it('should find no proxy header when a client connects directly', () => {
      assert.equal(proxyHeaderOf({ host: 'localhost:8080', 'user-agent': 'curl', accept: '*/*' }), undefined);
    });

    it('should refuse with 401 when the client is not on loopback', () => {
      for (const address of ['203.0.113.1', '::ffff:198.51.100.1', 'fe80::1', undefined]) {
        assert.throws(() => authenticate(client('anything', address)), status401, String(address));
      }
    });
  });
});

describe('bearerToken', () => {
  it('should read the token when the header is a bearer header', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer   xyz '), 'xyz');
  });

  it('should give nothing when the header is missing or of another scheme', () => {
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
  });
});

describe('isLoopbackHost', () => {
  it('should accept localhost and loopback addresses when given with or without a port', () => {
    for (const host of ['localhost', 'LOCALHOST:8080', '127.0.0.1', '127.0.0.1:80', '[::1]:8080', '[::1]']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  it('should refuse other names when given', () => {
    for (const host of ['evil.example', 'localhost.evil.example:8080', '203.0.113.9:8080', '[fe80::1]:80', '']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});

describe('isLoopback', () => {
  it('should tell loopback addresses when given IPv4, IPv6 or mapped addresses', () => {
    assert.equal(isLoopback('127.0.0.1'), true);
    assert.equal(isLoopback('::1'), true);
    assert.equal(isLoopback('::ffff:127.0.0.1'), true);
    assert.equal(isLoopback('128.0.0.1'), false);
    assert.equal(isLoopback('localhost'), false);
    assert.equal(isLoopback(''), false);
  });
});
