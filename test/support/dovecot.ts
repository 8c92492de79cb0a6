// A private Dovecot (IMAP, POP3, LMTP) for integration tests: its own config, sockets, state, log
// and maildirs in a temp dir, on free 127.0.0.1 ports, run in the foreground as our child without
// systemd. It can be stopped and started again on the same ports to simulate an outage.
//
// Dovecot comes from Debian packages (hack/ensure-dovecot.sh); when it is missing the fixture says
// how to install it instead of failing obscurely.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { freePorts, waitForPort } from './free-port.js';
import { createTestPki } from './test-pki.js';

const DOVECOT = '/usr/sbin/dovecot';

export interface DovecotUser {
  username: string;
  /**
   * Plaintext password. Dovecot's XOAUTH2/OAUTHBEARER mechanisms hand the bearer token to the
   * passdb as if it were a password, so the same value also works as this user's access token.
   */
  password: string;
}

export interface DovecotPorts {
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
  lmtp: number;
}

export interface DovecotFixture {
  host: '127.0.0.1';
  ports: DovecotPorts;
  /** PEM of the CA that signed the server certificate (names localhost and 127.0.0.1). */
  caPem: string;
  /** The fixture's temp dir (config, log, maildirs). */
  dir: string;
  /** Delivers a raw RFC 5322 message to the user's INBOX over LMTP. */
  deliver(username: string, raw: string | Buffer): Promise<void>;
  /** Authentication attempts Dovecot has finished for this user since start-up: all, or only the failed ones. */
  loginAttempts(username: string, result?: 'FAIL' | 'OK'): Promise<number>;
  /** Changes a user's password, as a directory would; Dovecot's passwd-file re-reads the file on change. */
  setPassword(username: string, password: string): Promise<void>;
  /**
   * Puts a message straight into the user's maildir (new/), as an MTA would while IMAP is down:
   * works with Dovecot stopped, and Dovecot finds it when it starts. `receivedAt` sets the file's
   * time, which Dovecot reports as the message's INTERNALDATE (maildir's received date).
   */
  deliverOffline(username: string, raw: string, receivedAt?: Date): Promise<void>;
  /** The Dovecot log so far, for diagnosing a failing test. */
  log(): Promise<string>;
  /** Stops Dovecot (all its processes); the ports then refuse connections. */
  stop(): Promise<void>;
  /** Starts Dovecot again on the same ports with the same users and mail. */
  start(): Promise<void>;
  /** Stops Dovecot and removes the temp dir. */
  cleanup(): Promise<void>;
}

// Processes still running when the test process exits are killed with their whole group, so an
// aborted run leaves no Dovecot behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the negative pid addresses the group we created with detached
  } catch {
    /* already gone */
  }
}

export interface DovecotOptions {
  users: DovecotUser[];
  /**
   * Configured as a server for thousands of connections is (Dovecot's "high-performance mode"
   * login processes, IDLE connections handed to imap-hibernate, process and client limits raised
   * to match), and without the per-login debug log. loginAttempts() then counts nothing.
   */
  scale?: { connections: number };
  /** Offer COMPRESS=DEFLATE (the imap_zlib plugin). */
  compress?: boolean;
  /**
   * Validate XOAUTH2 and OAUTHBEARER bearer tokens with Dovecot's oauth2 passdb against this
   * introspection endpoint (RFC 7662, POST), as a real deployment does, instead of taking the
   * token as the user's password.
   */
  oauth2IntrospectionUrl?: string;
}

export async function startDovecot(opts: DovecotOptions): Promise<DovecotFixture> {
  if (!existsSync(DOVECOT)) {
    throw new Error(`${DOVECOT} not found: run hack/ensure-dovecot.sh to install Dovecot from Debian packages`);
  }
  for (const u of opts.users) {
    if (/[:\n]/.test(u.username + u.password)) throw new Error(`user ${u.username}: ':' and newlines cannot be used in a passwd-file`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-dovecot-'));
  // Dovecot's unprivileged processes (auth as `dovecot`, mail as `nobody`) must traverse the dir.
  await chmod(dir, 0o755);
  const [imap, imaps, pop3, pop3s, lmtp] = await freePorts(5);
  const ports: DovecotPorts = { imap, imaps, pop3, pop3s, lmtp };
  const pki = await createTestPki(dir);
  const ids = mailIds();
  await mkdir(path.join(dir, 'mail'), { mode: 0o755 });
  if (isRoot()) await chown(path.join(dir, 'mail'), ids.uid, ids.gid);
  // passwd-file serves as both passdb and userdb: name:{PLAIN}password:uid:gid::home
  const passwords = new Map(opts.users.map((u) => [u.username, u.password]));
  const writeUsers = () =>
    writeFile(
      path.join(dir, 'users'),
      [...passwords]
        .map(([name, password]) => `${name}:{PLAIN}${password}:${ids.uid}:${ids.gid}::${path.join(dir, 'mail', name)}::`)
        .join('\n') + '\n',
      { mode: 0o644 },
    );
  await writeUsers();
  const confPath = path.join(dir, 'dovecot.conf');
  if (opts.oauth2IntrospectionUrl) {
    await writeFile(
      path.join(dir, 'dovecot-oauth2.conf.ext'),
      [
        'introspection_mode = post',
        `introspection_url = ${opts.oauth2IntrospectionUrl}`,
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
  }
  await writeFile(confPath, dovecotConfig(dir, ports, ids, opts));
  const logPath = path.join(dir, 'dovecot.log');

  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(DOVECOT, ['-F', '-c', confPath], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    running.add(proc);
    child = proc;
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, signal) => reject(new Error(`dovecot exited during start-up (${code ?? signal}): ${stderr.trim()}`))),
    );
    proc.once('exit', () => {
      running.delete(proc);
      if (child === proc) child = undefined;
    });
    try {
      await Promise.race([Promise.all(Object.values(ports).map((p) => waitForPort(p))), exited]);
    } catch (err) {
      killGroup(proc, 'SIGKILL');
      throw err;
    }
    exited.catch(() => undefined); // later exits are expected (stop) and must not go unhandled
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    killGroup(proc, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    // The master is gone; its children notice via their master pipe. Kill stragglers explicitly so a
    // restart cannot race them for the listening ports.
    killGroup(proc, 'SIGKILL');
    child = undefined;
  };

  const log = async (): Promise<string> => readFile(logPath, 'utf8').catch(() => '');

  await start();

  return {
    host: '127.0.0.1',
    ports,
    caPem: pki.caPem,
    dir,
    async deliver(username, raw) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ports.lmtp, lmtp: true, ignoreTLS: true, logger: false });
      try {
        await transport.sendMail({ envelope: { from: 'fixture@mailsync.test', to: [username] }, raw });
      } finally {
        transport.close();
      }
    },
    async loginAttempts(username, result) {
      // With auth_debug every finished authentication request logs one "client passdb out" line
      // with its result and user. The auth process answers the client before the log process
      // writes the line, so read until the count stops changing.
      const pattern = new RegExp(`client passdb out: ${result ?? '(?:OK|FAIL)'}\\t\\d+\\tuser=${escapeRegExp(username)}(?:\\t|$)`, 'gm');
      const count = async (): Promise<number> => ((await log()).match(pattern) ?? []).length;
      let last = await count();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const now = await count();
        if (now === last) return now;
        last = now;
      }
      return last;
    },
    async setPassword(username, password) {
      if (/[:\n]/.test(password)) throw new Error(`user ${username}: ':' and newlines cannot be used in a passwd-file`);
      passwords.set(username, password);
      await writeUsers();
    },
    async deliverOffline(username, raw, receivedAt) {
      const maildir = path.join(dir, 'mail', username, 'Maildir');
      for (const sub of ['', 'new', 'cur', 'tmp']) {
        await mkdir(path.join(maildir, sub), { recursive: true, mode: 0o700 });
        if (isRoot()) await chown(path.join(maildir, sub), ids.uid, ids.gid);
      }
      const name = `${Date.now()}.M${process.hrtime.bigint()}P${process.pid}.mailsync-test`;
      const file = path.join(maildir, 'new', name);
      await writeFile(file, raw.replace(/\r?\n/g, '\n'), { mode: 0o600 });
      if (receivedAt) await utimes(file, receivedAt, receivedAt);
      if (isRoot()) await chown(file, ids.uid, ids.gid);
      await chown(path.join(dir, 'mail', username), ids.uid, ids.gid).catch(() => undefined);
    },
    log,
    stop,
    start,
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** As root, mail belongs to `nobody`: Dovecot refuses to run mail processes as root. */
function mailIds(): { uid: number; gid: number } {
  return isRoot() ? { uid: 65534, gid: 65534 } : { uid: process.getuid!(), gid: process.getgid!() };
}

/** What a Dovecot serving `connections` IMAP clients at once is given (Dovecot's performance tuning guide). */
function scaleConfig(connections: number): string {
  const clients = connections + 1000;
  return `
# --- Many clients at once, as a real server would be set up for them.
# Login processes in high-performance mode: a few long-lived processes (one per core) that each
# serve thousands of connections and keep proxying TLS after the login.
service imap-login {
  service_count = 0
  process_min_avail = 2
  client_limit = ${clients}
  vsz_limit = 2G
}
# One imap process per connection while it works; a client that IDLEs is handed to
# imap-hibernate after imap_hibernate_timeout, which holds thousands of idle clients in one process.
service imap {
  process_limit = ${clients}
  # imap-hibernate hands a client back to an imap process when it stops idling (Dovecot's example).
  unix_listener imap-master {
    user = $default_internal_user
  }
  extra_groups = $default_internal_group
}
imap_hibernate_timeout = 5s
service imap-hibernate {
  client_limit = ${clients}
  unix_listener imap-hibernate {
    mode = 0660
    group = $default_internal_group
  }
}
service anvil {
  client_limit = ${4 * clients}
}
service auth {
  client_limit = ${4 * clients}
}
default_process_limit = ${clients}
default_client_limit = ${clients}
auth_cache_size = 10M
`;
}

function dovecotConfig(dir: string, ports: DovecotPorts, ids: { uid: number; gid: number }, opts: DovecotOptions): string {
  const oauth2 = !!opts.oauth2IntrospectionUrl;
  // As root, Dovecot's own service users from the Debian package; otherwise everything runs as us.
  const me = os.userInfo().username;
  const internal = isRoot() ? 'default_internal_user = dovecot\ndefault_internal_group = dovecot' : `default_internal_user = ${me}`;
  const loginUser = isRoot() ? 'dovenull' : me;
  return `# Generated by test/support/dovecot.ts
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mailsync-test-${path.basename(dir)}
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
debug_log_path = ${dir}/dovecot.log
${internal}
default_login_user = ${loginUser}
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
# Tests also probe plaintext authentication on the non-TLS ports.
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# The default 2 s delay after a failed login would slow every negative test.
auth_failure_delay = 0
auth_verbose = ${opts.scale ? 'no' : 'yes'}
# One "client passdb out" line per finished authentication, counted by loginAttempts().
auth_debug = ${opts.scale ? 'no' : 'yes'}
mail_fsync = never
first_valid_uid = ${Math.min(ids.uid, 1)}
first_valid_gid = ${Math.min(ids.gid, 1)}
mail_uid = ${ids.uid}
mail_gid = ${ids.gid}
mail_location = maildir:~/Maildir
${
  oauth2
    ? `# Bearer tokens are checked at the token issuer's introspection endpoint; passwords in the passwd-file.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${dir}/dovecot-oauth2.conf.ext
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u ${dir}/users
}`
    : `passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}`
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Archive {
    auto = create
  }
  mailbox Trash {
    auto = create
    special_use = \\Trash
  }
  # Named unlike "Sent", so that tests show the folder is found by its special use.
  mailbox "Sent Messages" {
    auto = subscribe
    special_use = \\Sent
  }
}
protocol imap {
  mail_max_userip_connections = 100${opts.compress ? '\n  mail_plugins = $mail_plugins imap_zlib' : ''}
}
protocol pop3 {
  mail_max_userip_connections = 100
}
service anvil {
  chroot =
  # The auth process slows down logins from an IP after failed ones (up to 15 s), which would make
  # every test after a negative one slow. It skips the penalty when it cannot reach this socket.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}${opts.scale ? scaleConfig(opts.scale.connections) : ''}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${ports.pop3}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${ports.pop3s}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtp}
  }
}
`;
}
