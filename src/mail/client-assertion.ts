// Certificate credentials for the OAuth 2.0 client-credentials grant (RFC 7523 client
// authentication, as the Microsoft identity platform takes it): instead of a client secret, the
// client sends a short-lived JWT signed with the private key of a certificate registered on the app
// registration. The token endpoint checks the signature with the certificate it knows (by its
// thumbprint, the header's x5t), the audience (its own token URL), issuer and subject (the client
// id) and the lifetime. No long-lived secret travels: a captured assertion is worth ten minutes at
// one token endpoint.
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import type { CertificateCredential } from '../net/oauth-client.js';
import { MailError } from './types.js';

/** The assertion type of RFC 7523 (client_assertion_type). */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Checks the pair can sign (an RSA key, a parseable certificate); throws UnsupportedConfiguration naming what is wrong. */
export function checkCertificate(c: CertificateCredential, where: string): void {
  try {
    new X509Certificate(c.certificatePem);
  } catch {
    throw new MailError('UnsupportedConfiguration', `${where}: tls.crt is not a PEM certificate`);
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(c.privateKeyPem).asymmetricKeyType;
  } catch {
    throw new MailError('UnsupportedConfiguration', `${where}: tls.key is not a PEM private key`);
  }
  if (type !== 'rsa')
    throw new MailError(
      'UnsupportedConfiguration',
      `${where}: tls.key is a ${type ?? 'unknown'} key; the Microsoft identity platform takes RSA certificates`,
    );
}

/**
 * A client assertion for `audience` (the token endpoint URL), signed RS256 with the certificate's
 * key, valid for ten minutes.
 */
export function certificateAssertion(c: CertificateCredential, clientId: string, audience: string, now = Date.now()): string {
  const der = new X509Certificate(c.certificatePem).raw;
  const header = {
    alg: 'RS256',
    typ: 'JWT',
    x5t: b64url(createHash('sha1').update(der).digest()),
    'x5t#S256': b64url(createHash('sha256').update(der).digest()),
  };
  const iat = Math.floor(now / 1000);
  const payload = { aud: audience, iss: clientId, sub: clientId, jti: randomUUID(), iat, nbf: iat, exp: iat + 600 };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${signingInput}.${b64url(sign('RSA-SHA256', Buffer.from(signingInput), c.privateKeyPem))}`;
}
