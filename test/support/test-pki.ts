// A throwaway certificate authority and server certificate for the mail fixtures, made with the
// openssl CLI. Tests trust the CA explicitly (Endpoint.ca), which is exactly what a user with a
// private CA does, and leaving it out exercises the "untrusted certificate" path for real.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

/** Writes ca.pem, cert.pem and key.pem into `dir`; the server certificate names localhost and 127.0.0.1. */
export async function createTestPki(dir: string): Promise<TestPki> {
  const p = (name: string): string => path.join(dir, name);
  // EC keys: generating them takes milliseconds, RSA would add noticeable time to every suite.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '3',
    '-subj',
    '/CN=mailsync test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', p('key.pem'), '-out', p('server.csr'), '-subj', '/CN=localhost']);
  await writeFile(
    p('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('cert.pem'),
    '-days',
    '3',
    '-extfile',
    p('server.ext'),
  ]);
  const [caPem, certPem, keyPem] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(p(f), 'utf8')));
  return { caPem, certPem, keyPem, certPath: p('cert.pem'), keyPath: p('key.pem') };
}

/**
 * A self-signed RSA certificate and key for an app registration's certificate credential (the
 * Microsoft identity platform takes RSA), as a kubernetes.io/tls Secret would hold them.
 */
export async function createClientCertificate(dir: string, name = 'mailsync-app'): Promise<{ certPem: string; keyPem: string }> {
  const p = (f: string): string => path.join(dir, `${name}-${f}`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    p('key.pem'),
    '-out',
    p('cert.pem'),
    '-days',
    '3',
    '-subj',
    `/CN=${name}`,
  ]);
  const [certPem, keyPem] = await Promise.all([readFile(p('cert.pem'), 'utf8'), readFile(p('key.pem'), 'utf8')]);
  return { certPem, keyPem };
}
