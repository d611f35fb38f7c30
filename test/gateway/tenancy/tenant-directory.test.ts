import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ConfigError, parseConfig } from '../../../gateway/config.js';
import { ApiError } from '../../../gateway/errors.js';
import { createAuthenticator } from '../../../gateway/tenancy/authenticate.js';
import { TenantDirectory } from '../../../gateway/tenancy/tenant-directory.js';

const sha256Hex = (token: string) => createHash('sha256').update(token).digest('hex');
const status401 = (error: unknown) => error instanceof ApiError && error.status === 401;
const client = (token: string) => ({
  token,
  remoteAddress: '203.0.113.1',
  host: 'gateway.example',
  proxyHeader: undefined,
});

describe('TenantDirectory', () => {
  const defaults = parseConfig({ tenantDefaults: { maxConcurrent: 5 } });

  it('should refuse a token from the moment it is removed, and accept one added', () => {
    const directory = new TenantDirectory(defaults, true);
    const authenticate = createAuthenticator(directory, defaults);
    directory.replace([{ name: 'alpha', tokenSha256: [sha256Hex('old'), sha256Hex('kept')] }]);
    assert.equal(authenticate(client('old')).name, 'alpha');

    directory.replace([
      { name: 'alpha', tokenSha256: [sha256Hex('kept')] },
      { name: 'beta', tokenSha256: [sha256Hex('new')] },
    ]);

    assert.throws(() => authenticate(client('old')), status401);
    assert.equal(authenticate(client('kept')).name, 'alpha');
    assert.equal(authenticate(client('new')).name, 'beta');
  });

  it('should require tokens when fed by a Secret, even while it has no tenants', () => {
    const directory = new TenantDirectory(defaults, true);
    const authenticate = createAuthenticator(directory, defaults);

    assert.throws(
      () => authenticate({ token: undefined, remoteAddress: '127.0.0.1', host: 'localhost', proxyHeader: undefined }),
      status401,
    );
    assert.equal(directory.loaded, false);
  });

  it("should give a tenant's current policy by name, and nothing once it is gone", () => {
    const directory = new TenantDirectory(defaults, true);
    directory.replace([{ name: 'alpha', tokenSha256: [sha256Hex('a')], maxConcurrent: 2, namespace: 'team-a' }]);
    assert.equal(directory.find('alpha')?.maxConcurrent, 2);
    assert.equal(directory.find('alpha')?.namespace, 'team-a');

    directory.replace([{ name: 'alpha', tokenSha256: [sha256Hex('a')] }]);
    assert.equal(directory.find('alpha')?.maxConcurrent, 5);
    directory.replace([]);
    assert.equal(directory.find('alpha'), undefined);
  });

  it('should tell listeners after each replacement and keep a problem until the next good version', () => {
    const directory = new TenantDirectory(defaults, true);
    let changes = 0;
    const stop = directory.onChange(() => {
      changes += 1;
    });
    directory.replace([]);
    directory.reportProblem('the Secret is malformed');
    assert.equal(directory.problem, 'the Secret is malformed');

    directory.replace([]);
    stop();
    directory.replace([]);

    assert.equal(changes, 2);
    assert.equal(directory.problem, undefined);
  });
});

describe('tenants in the configuration', () => {
  const tenant = (name: string, token: string) => ({ name, tokenSha256: [sha256Hex(token)] });

  it('should refuse a tenant name or a token given twice, naming the field', () => {
    assert.throws(() => parseConfig({ tenants: [tenant('a', 'x'), tenant('a', 'y')] }), /tenants\[1\]\.name/);
    assert.throws(
      () => parseConfig({ tenants: [tenant('a', 'x'), tenant('b', 'x')] }),
      /tenants\[1\]\.tokenSha256\[0\]/,
    );
  });

  it('should refuse tenants beside a tenants Secret, and a Secret without the Kubernetes backend', () => {
    assert.throws(
      () => parseConfig({ kubernetes: { tenantsSecret: { namespace: 'sandpod-system', name: 'sandpod-tenants' } } }),
      (error: unknown) => error instanceof ConfigError && /needs backend: kubernetes/.test(error.message),
    );
    assert.throws(
      () =>
        parseConfig({
          backend: 'kubernetes',
          tenants: [tenant('a', 'x')],
          kubernetes: { tenantsSecret: { namespace: 'sandpod-system', name: 'sandpod-tenants' } },
        }),
      (error: unknown) => error instanceof ConfigError && /kubernetes\.tenantsSecret/.test(error.message),
    );
  });

  it('should read the tenants Secret reference with its default key', () => {
    const config = parseConfig({
      backend: 'kubernetes',
      kubernetes: { tenantsSecret: { namespace: 'sandpod-system', name: 'sandpod-tenants' } },
    });
    assert.deepEqual(config.kubernetes.tenantsSecret, {
      namespace: 'sandpod-system',
      name: 'sandpod-tenants',
      key: 'tenants.yaml',
    });
  });
});
