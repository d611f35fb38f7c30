// Forwards TCP connections from one address to another, byte for byte (TLS passes through):
//   node dev-cluster/tcp-forward.mjs <listen-host> <listen-port> <target-host> <target-port>
// pod-services.sh runs it so that pods reach the API server, which listens on loopback only,
// at the node's address on the pod bridge: an EndpointSlice may not name a loopback address.
import net from 'node:net';

const [listenHost, listenPort, targetHost, targetPort] = process.argv.slice(2);
if (!listenHost || !listenPort || !targetHost || !targetPort) {
  process.stderr.write('usage: tcp-forward.mjs <listen-host> <listen-port> <target-host> <target-port>\n');
  process.exit(2);
}

const server = net.createServer((client) => {
  const upstream = net.connect(Number(targetPort), targetHost);
  // Either side failing ends both; an error on one connection never stops the forwarder.
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.on('error', (error) => {
  process.stderr.write(`tcp-forward: ${error.message}\n`);
  process.exit(1);
});
server.listen(Number(listenPort), listenHost, () => {
  process.stdout.write(`tcp-forward: ${listenHost}:${listenPort} -> ${targetHost}:${targetPort}\n`);
});
