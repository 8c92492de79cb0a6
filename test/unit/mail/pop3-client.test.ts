// Pop3Client over a real loopback socket against a scripted POP3 peer that dribbles every reply out
// a few bytes per write, so the client sees status lines and terminators split across TCP segments.
// (Dovecot, in the integration tests, never splits that finely.) Also covers server behaviour
// Dovecot does not show: RFC 3206 codes, SASL error challenges, servers without CAPA or SASL.
import net from 'node:net';
import { classifyError } from '../../../src/mail/errors.js';
import { Pop3Client, Pop3Error } from '../../../src/mail/pop3-client.js';

type Script = (command: string) => string | undefined;

interface FakeServer {
  port: number;
  received: string[];
  close(): Promise<void>;
}

/** A POP3 peer: greets, then answers each command line with script(line), written in tiny pieces. */
async function fakePop3(script: Script, greeting = '+OK fake POP3 ready\r\n'): Promise<FakeServer> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    let queue = Promise.resolve();
    const dribble = (text: string): void => {
      queue = queue.then(async () => {
        const bytes = Buffer.from(text, 'latin1');
        for (let i = 0; i < bytes.length && !socket.destroyed; i += 3) {
          socket.write(bytes.subarray(i, i + 3));
          await new Promise((r) => setImmediate(r));
        }
      });
    };
    dribble(greeting);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let eol: number;
      while ((eol = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, eol);
        pending = pending.slice(eol + 2);
        received.push(line);
        const reply = script(line);
        if (reply !== undefined) dribble(reply);
        if (line === 'QUIT') void queue.then(() => socket.end());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const stored = 'Subject: split\r\n\r\n.starts with a dot\r\n.\r\nlast line\r\n';
const stuffed = stored
  .split('\r\n')
  .map((l) => (l.startsWith('.') ? `.${l}` : l))
  .join('\r\n');

/** A small but complete server: CAPA with SASL, USER/PASS, mailbox of one message. */
const basic: Script = (line) => {
  const [cmd, ...args] = line.split(' ');
  switch (cmd) {
    case 'CAPA':
      return '+OK\r\nUSER\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\n.\r\n';
    case 'AUTH':
      if (args[0] === 'PLAIN' && Buffer.from(args[1] ?? '', 'base64').toString() === '\0u@example.test\0pw-1234')
        return '+OK logged in\r\n';
      return '-ERR [AUTH] no\r\n';
    case 'STAT':
      return `+OK 1 ${stored.length}\r\n`;
    case 'UIDL':
      return '+OK\r\n1 0000000a5f3e2b11\r\n.\r\n';
    case 'LIST':
      return `+OK\r\n1 ${stored.length}\r\n.\r\n`;
    case 'RETR':
      return args[0] === '1' ? `+OK ${stored.length} octets\r\n${stuffed}.\r\n` : '-ERR no such message\r\n';
    case 'QUIT':
      return '+OK bye\r\n';
    default:
      return '-ERR unknown command\r\n';
  }
};

describe('Pop3Client over split TCP segments', () => {
  test('greeting, CAPA, AUTH PLAIN, STAT, UIDL, LIST, RETR and QUIT', async () => {
    const server = await fakePop3(basic);
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None', timeoutMs: 2000 });
      expect(client.greeting).toBe('fake POP3 ready');
      expect(client.capabilities.get('SASL')).toEqual(['PLAIN', 'XOAUTH2']);
      await client.authenticate({ username: 'u@example.test', password: 'pw-1234' });
      expect(await client.stat()).toEqual({ count: 1, size: stored.length });
      expect(await client.uidl()).toEqual([{ msg: 1, uid: '0000000a5f3e2b11' }]);
      expect(await client.list()).toEqual([{ msg: 1, size: stored.length }]);
      expect((await client.retr(1)).toString('latin1')).toBe(stored);
      await client.quit();
      expect(server.received).toEqual(['CAPA', expect.stringMatching(/^AUTH PLAIN /), 'STAT', 'UIDL', 'LIST', 'RETR 1', 'QUIT']);
    } finally {
      await server.close();
    }
  });

  test('concurrent calls are sent one at a time, in order', async () => {
    const server = await fakePop3(basic);
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None', timeoutMs: 2000 });
      await client.authenticate({ username: 'u@example.test', password: 'pw-1234' });
      const [stat, msg, uidl] = await Promise.all([client.stat(), client.retr(1), client.uidl()]);
      expect(stat.count).toBe(1);
      expect(msg.toString('latin1')).toBe(stored);
      expect(uidl).toHaveLength(1);
      await client.quit();
    } finally {
      await server.close();
    }
  });
});

describe('Pop3Client authentication paths', () => {
  test('USER/PASS when the server has no CAPA', async () => {
    const server = await fakePop3((line) => {
      if (line === 'CAPA') return '-ERR what?\r\n';
      if (line.startsWith('USER ')) return '+OK\r\n';
      if (line === 'PASS pw-1234') return '+OK\r\n';
      if (line.startsWith('PASS ')) return '-ERR [AUTH] wrong\r\n';
      return basic(line);
    });
    try {
      const ok = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None' });
      expect(ok.capabilities.size).toBe(0);
      await ok.authenticate({ username: 'u', password: 'pw-1234' });
      await ok.quit();

      const bad = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None' });
      const err = await bad.authenticate({ username: 'u', password: 'wrong-pass' }).catch((e: unknown) => e);
      bad.close();
      expect(err).toBeInstanceOf(Pop3Error);
      expect(err).toMatchObject({ code: 'ERESPONSE', command: 'PASS', responseCode: 'AUTH' });
      const classified = classifyError(err, { secrets: ['wrong-pass'] });
      expect(classified.reason).toBe('AuthenticationFailed');
      expect(classified.message).not.toContain('wrong-pass');
    } finally {
      await server.close();
    }
  });

  test('XOAUTH2 failure: JSON challenge, empty response, then -ERR', async () => {
    const server = await fakePop3((line) => {
      if (line.startsWith('AUTH XOAUTH2 ')) return `+ ${Buffer.from('{"status":"401","schemes":"bearer"}').toString('base64')}\r\n`;
      if (line === '') return '-ERR [AUTH] Invalid token\r\n';
      return basic(line);
    });
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None' });
      const err = await client.authenticate({ username: 'u', accessToken: 'tok-expired-123' }).catch((e: unknown) => e);
      client.close();
      expect(err).toMatchObject({ code: 'ERESPONSE', command: 'AUTH', responseCode: 'AUTH' });
      expect(server.received).toContain('');
      const classified = classifyError(err, { secrets: ['tok-expired-123'] });
      expect(classified.reason).toBe('AuthenticationFailed');
      expect(classified.message).not.toContain('tok-expired-123');
    } finally {
      await server.close();
    }
  });

  test('a token too long for one command line goes after the continuation', async () => {
    const longToken = 't'.repeat(400);
    const server = await fakePop3((line) => {
      if (line === 'AUTH XOAUTH2') return '+ \r\n';
      if (Buffer.from(line, 'base64').toString() === `user=u\x01auth=Bearer ${longToken}\x01\x01`) return '+OK\r\n';
      return basic(line);
    });
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None' });
      await client.authenticate({ username: 'u', accessToken: longToken });
      await client.quit();
      expect(server.received.every((l) => l.length <= 1000)).toBe(true);
    } finally {
      await server.close();
    }
  });

  test('an OAuth login against a server without XOAUTH2 is a configuration problem', async () => {
    const server = await fakePop3((line) => (line === 'CAPA' ? '+OK\r\nUSER\r\n.\r\n' : basic(line)));
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None' });
      const err = await client.authenticate({ username: 'u', accessToken: 'tok-123456' }).catch((e: unknown) => e);
      client.close();
      expect(classifyError(err).reason).toBe('UnsupportedConfiguration');
    } finally {
      await server.close();
    }
  });

  test('STARTTLS mode refuses a server without STLS', async () => {
    const server = await fakePop3(basic);
    try {
      const err = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'STARTTLS' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ETLS' });
      expect(classifyError(err).reason).toBe('TLSError');
    } finally {
      await server.close();
    }
  });
});

describe('Pop3Client failure modes', () => {
  test.each([
    ['[IN-USE]', '-ERR [IN-USE] mailbox locked\r\n', 'ServerError'],
    ['[SYS/TEMP]', '-ERR [SYS/TEMP] try later\r\n', 'ServerError'],
    ['[LOGIN-DELAY]', '-ERR [LOGIN-DELAY] too soon\r\n', 'Throttled'],
  ])('%s at login is transient', async (_name, reply, reason) => {
    const server = await fakePop3((line) => (line.startsWith('AUTH ') ? reply : basic(line)));
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None' });
      const err = await client.authenticate({ username: 'u@example.test', password: 'pw-1234' }).catch((e: unknown) => e);
      client.close();
      const classified = classifyError(err);
      expect(classified.reason).toBe(reason);
      expect(classified.permanent).toBe(false);
    } finally {
      await server.close();
    }
  });

  test('a command the server never answers times out and closes the connection', async () => {
    const server = await fakePop3((line) => (line === 'STAT' ? undefined : basic(line)));
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None', timeoutMs: 200 });
      await client.authenticate({ username: 'u@example.test', password: 'pw-1234' });
      const err = await client.stat().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ETIMEDOUT', command: 'STAT' });
      expect(classifyError(err).reason).toBe('Timeout');
      await expect(client.noop()).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      await server.close();
    }
  });

  test('the server hanging up mid-reply', async () => {
    const server = await fakePop3((line) => (line === 'RETR 1' ? '+OK\r\nSubject: cut\r\n' : basic(line)));
    try {
      const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'None', timeoutMs: 2000 });
      const retr = client.retr(1).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      await server.close();
      const err = await retr;
      expect(classifyError(err).reason).toBe('ServerUnreachable');
    } finally {
      await server.close().catch(() => undefined);
    }
  });

  test('aborting the signal fails the pending command', async () => {
    const server = await fakePop3((line) => (line === 'STAT' ? undefined : basic(line)));
    try {
      const controller = new AbortController();
      const client = await Pop3Client.connect({
        host: '127.0.0.1',
        port: server.port,
        tls: 'None',
        timeoutMs: 5000,
        signal: controller.signal,
      });
      const stat = client.stat().catch((e: unknown) => e);
      controller.abort();
      expect(classifyError(await stat).reason).toBe('Timeout');
    } finally {
      await server.close();
    }
  });
});
