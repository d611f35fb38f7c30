import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseConfig } from '../../../gateway/config.js';
import { ApiError } from '../../../gateway/errors.js';
import { bearerToken, createAuthenticator, isLoopback, isLoopbackHost } from '../../../gateway/tenancy/authenticate.js';
import { configuredTenants } from '../../../gateway/tenancy/tenant-directory.js';

const sha256Hex = (token: string) => createHash('sha256').update(token).digest('hex');
const status401 = (error: unknown) => error instanceof ApiError && error.status === 401;
const client = (token: string | undefined, remoteAddress: string | undefined, host = 'localhost:8080') => ({
  token,
  remoteAddress,
  host,
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
      assert.equal(authenticate(client('a1', '10.0.0.1')).name, 'alpha');
      assert.equal(authenticate(client('a2', '10.0.0.1')).name, 'alpha');
      assert.equal(authenticate(client('b1', '10.0.0.1')).name, 'beta');
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
      for (const host of ['evil.example:8080', 'evil.example', '10.0.0.1:8080', undefined]) {
        assert.throws(() => authenticate({ token: undefined, remoteAddress: '127.0.0.1', host }), status401);
      }
    });

    it('should refuse with 401 when the client is not on loopback', () => {
      for (const address of ['10.0.0.1', '::ffff:192.168.1.1', 'fe80::1', undefined]) {
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
    for (const host of ['example.com', 'localhost.example.com:8080', '10.1.1.1:8080', '[fe80::1]:80', '']) {
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
