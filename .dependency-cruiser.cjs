// The layers of sandpod, checked by `make lint` (dependency-cruiser). Arrows point at what a
// folder may import:
//
//   gateway ──┐           ┌── operator        (never each other)
//             ├─► sandbox ┤
//             ├─► kube ───┤◄── kubectl-plugin ──► cli
//             └─► contract ◄┘  ◄── client ◄── web, cli
//
// contract/ is the API both sides read; sandbox/ (host sandbox and pod launcher) and kube/ (the
// Kubernetes client pieces) build on it alone; observability/ is a leaf anyone may use. client/
// speaks the REST and Socket.IO API from the contract alone, so users may take it as it is.
const ours = '^(contract|sandbox|kube|gateway|operator|observability|web|client|cli|kubectl-plugin)/';

/** A rule that `from` may import nothing of ours outside `allowed`. */
function layer(name, from, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: `^${from}/` },
    to: { path: ours, pathNot: `^(${[from, ...allowed].join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    layer('contract-stands-alone', 'contract', [], 'contract/ is the API both sides read: it imports nothing of ours'),
    layer('observability-is-a-leaf', 'observability', [], 'observability/ is used by every layer and uses none'),
    layer('sandbox-builds-on-contract', 'sandbox', ['contract', 'observability'], 'sandbox/ may import contract/ only'),
    layer('kube-builds-on-contract', 'kube', ['contract', 'observability'], 'kube/ may import contract/ only'),
    layer(
      'gateway-never-imports-operator',
      'gateway',
      ['contract', 'sandbox', 'kube', 'observability'],
      'gateway/ reaches the operator only through the API in contract/',
    ),
    layer(
      'operator-never-imports-gateway',
      'operator',
      ['contract', 'sandbox', 'kube', 'observability'],
      'operator/ reaches the gateway only through the API in contract/',
    ),
    layer('client-speaks-the-contract', 'client', ['contract'], 'client/ knows the API from contract/ alone'),
    layer(
      'web-reads-the-contract',
      'web',
      ['client', 'contract'],
      'the web page shares only the contract (and its client) with the server',
    ),
    layer('cli-uses-the-client', 'cli', ['client', 'contract'], 'the sandpod command speaks the API through client/'),
    layer(
      'kubectl-plugin-uses-the-kubernetes-api',
      'kubectl-plugin',
      ['contract', 'kube', 'cli', 'client', 'observability'],
      'kubectl-sandpod speaks to the Kubernetes API (sharing the command line pieces of cli/), never to the gateway or operator code',
    ),
    {
      name: 'no-circular',
      comment: 'a cycle hides which module owns the idea',
      severity: 'error',
      from: { path: ours },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|web/dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
