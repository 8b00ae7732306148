/** Servers that require credentials, and the server's payload limit. */
import assert from 'node:assert/strict';
import { nkeys } from '@nats-io/transport-node';
import { connect, EncodeError, RemoteError, startServer, type TestServer } from '../../src/remote/index.js';
import { guard } from '../helpers.js';
import { rtest, uniq } from './helpers.js';

async function withServer(options: Parameters<typeof startServer>[0], fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startServer(options);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

rtest('a server that requires a token rejects a link without it, with a clear error', async () => {
  await withServer({ token: 's3cret-token' }, async (s) => {
    for (const bad of [{}, { token: 'wrong' }]) {
      const e = await connect({ servers: s.url, ...bad }).then(
        (l) => l.close().then(() => undefined),
        (err: unknown) => err,
      );
      assert.ok(e instanceof RemoteError, `expected RemoteError, got ${String(e)}`);
      assert.equal(e.kind, 'auth');
      assert.match(e.message, /refused this link's credentials/);
    }
    const link = await connect({ servers: s.url, token: 's3cret-token' });
    try {
      const [tx, rx] = await link.bounded<string>(uniq('tok'), 2);
      await tx.send('in');
      assert.equal(await guard(rx.recv()), 'in');
      tx.close();
      rx.close();
    } finally {
      await link.close();
    }
  });
});

rtest('a server that requires user/password rejects a link without them, with a clear error', async () => {
  await withServer({ user: 'app', pass: 'pw-123' }, async (s) => {
    for (const bad of [{}, { user: 'app', pass: 'nope' }, { user: 'other', pass: 'pw-123' }]) {
      const e = await connect({ servers: s.url, ...bad }).then(
        (l) => l.close().then(() => undefined),
        (err: unknown) => err,
      );
      assert.ok(e instanceof RemoteError && e.kind === 'auth', `expected an auth RemoteError, got ${String(e)}`);
    }
    const link = await connect({ servers: s.url, user: 'app', pass: 'pw-123' });
    await link.close();
  });
});

rtest('no server: a clear connect error', async () => {
  const e = await connect({ servers: 'nats://127.0.0.1:1', nats: { reconnect: false } }).then(
    (l) => l.close().then(() => undefined),
    (err: unknown) => err,
  );
  assert.ok(e instanceof RemoteError && e.kind === 'connect', `expected a connect RemoteError, got ${String(e)}`);
});

rtest("the server's max_payload bounds the message size; bigger values are refused at send", async () => {
  await withServer({ maxPayload: 8 * 1024 }, async (s) => {
    const link = await connect({ servers: s.url });
    try {
      const [tx, rx] = await link.bounded<string>(uniq('payload'), 2);
      const big = 'z'.repeat(9000);
      await assert.rejects(tx.send(big), (e: unknown) => e instanceof EncodeError && e.kind === 'too-large' && e.value === big);
      const fits = 'z'.repeat(6000);
      await tx.send(fits);
      assert.equal(await guard(rx.recv()), fits);
      tx.close();
      rx.close();
    } finally {
      await link.close();
    }
  });
});

rtest('NKey authentication: the seed is passed through; a link without it is refused', async () => {
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  await withServer({ nkeyUser: user.getPublicKey() }, async (s) => {
    const e = await connect({ servers: s.url }).then(
      (l) => l.close().then(() => undefined),
      (err: unknown) => err,
    );
    assert.ok(e instanceof RemoteError && e.kind === 'auth', `expected an auth RemoteError, got ${String(e)}`);
    const link = await connect({ servers: s.url, nkeySeed: seed });
    try {
      const [tx, rx] = await link.bounded<number>(uniq('nkey'), 1);
      await tx.send(5);
      assert.equal(await guard(rx.recv()), 5);
      tx.close();
      rx.close();
    } finally {
      await link.close();
    }
  });
});
