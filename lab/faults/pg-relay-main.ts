/**
 * Inside the link's namespace: accepts TCP connections on ADDRESS:PORT and joins each one to
 * PostgreSQL's unix socket (a path, so reachable from any network namespace), bytes untouched.
 * Prints `ready` once listening; exits on SIGTERM, when its parent is gone, or after SECONDS.
 *
 *   ip netns exec NS node --import tsx lab/faults/pg-relay-main.ts ADDRESS PORT SOCKET SECONDS
 */
import net from 'node:net';

function fail(message: string): never {
  process.stderr.write(`pg-relay: ${message}\n`);
  process.exit(1);
}

const [address, rawPort, socketPath, rawSeconds] = process.argv.slice(2);
const port = Number(rawPort);
const seconds = Number(rawSeconds);
if (!address || !socketPath || !Number.isInteger(port) || port < 1 || port > 65535 || !(seconds > 0 && seconds <= 3600)) {
  fail('usage: pg-relay-main.ts ADDRESS PORT SOCKET SECONDS (1..3600)');
}

const server = net.createServer((client) => {
  client.setNoDelay(true);
  const upstream = net.connect(socketPath);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.on('error', (err: NodeJS.ErrnoException) => fail(`cannot listen on ${address}:${port}: ${err.code ?? err.message}`));
server.listen(port, address, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(0), seconds * 1000);
// The run that started it may be killed outright: end with it (the parent is `ip netns exec`'s caller).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500);
