// The server side of NTLMv2 (MS-NLMP) for the fake EWS server: issue a CHALLENGE_MESSAGE and check
// an AUTHENTICATE_MESSAGE's NTProofStr against the account's password. Just enough to prove that
// the client's handshake is real (same connection, right user, right password), not a full SSP.
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

// OpenSSL 3 no longer offers MD4; the NTLM client's own dependency computes it.
const md4 = createRequire(import.meta.url)('js-md4') as { arrayBuffer(data: Buffer): ArrayBuffer };

const SIGNATURE = Buffer.from('NTLMSSP\0', 'ascii');
const NEGOTIATE_UNICODE = 0x1;
const REQUEST_TARGET = 0x4;
const NEGOTIATE_NTLM = 0x200;
const ALWAYS_SIGN = 0x8000;
const TARGET_TYPE_DOMAIN = 0x10000;
const EXTENDED_SESSION_SECURITY = 0x80000;
const TARGET_INFO = 0x800000;

export interface NtlmIdentity {
  domain: string;
  user: string;
}

/** `NTLM <base64>` for a type 1 (negotiate) message. */
export function isNtlmNegotiate(authorization: string | undefined): boolean {
  return messageType(authorization) === 1;
}

/** A CHALLENGE_MESSAGE for `domain`, as the `WWW-Authenticate` value, and its server challenge. */
export function ntlmChallenge(domain: string): { header: string; challenge: Buffer } {
  const challenge = randomBytes(8);
  const target = Buffer.from(domain, 'utf16le');
  const info = Buffer.concat([avPair(2, target), avPair(1, Buffer.from('EXCH01', 'utf16le')), avPair(0, Buffer.alloc(0))]);
  const header = Buffer.alloc(48);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(2, 8);
  securityBuffer(header, 12, target.length, 48);
  header.writeUInt32LE(
    NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM | ALWAYS_SIGN | TARGET_TYPE_DOMAIN | EXTENDED_SESSION_SECURITY | TARGET_INFO,
    20,
  );
  challenge.copy(header, 24);
  securityBuffer(header, 40, info.length, 48 + target.length);
  return { header: `NTLM ${Buffer.concat([header, target, info]).toString('base64')}`, challenge };
}

/**
 * Checks a type 3 (authenticate) message against the challenge sent on this connection.
 * `passwordOf` looks up the password for the identity the client claims; undefined rejects.
 */
export function verifyNtlmAuthenticate(
  authorization: string | undefined,
  challenge: Buffer,
  passwordOf: (id: NtlmIdentity) => string | undefined,
): NtlmIdentity | undefined {
  if (messageType(authorization) !== 3) return undefined;
  const msg = Buffer.from(authorization!.slice(5), 'base64');
  const field = (offset: number): Buffer =>
    msg.subarray(msg.readUInt32LE(offset + 4), msg.readUInt32LE(offset + 4) + msg.readUInt16LE(offset));
  const nt = field(20);
  const identity = { domain: field(28).toString('utf16le'), user: field(36).toString('utf16le') };
  const password = passwordOf(identity);
  // NTLMv2 responses are longer than the 24 bytes of NTLMv1, which is not accepted.
  if (password === undefined || nt.length <= 24) return undefined;
  const ntHash = Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le')));
  const ntowfv2 = hmacMd5(ntHash, Buffer.from(identity.user.toUpperCase() + identity.domain, 'utf16le'));
  const proof = hmacMd5(ntowfv2, Buffer.concat([challenge, nt.subarray(16)]));
  return proof.equals(nt.subarray(0, 16)) ? identity : undefined;
}

function messageType(authorization: string | undefined): number | undefined {
  const m = /^NTLM ([A-Za-z0-9+/=]+)$/.exec(authorization ?? '');
  if (!m) return undefined;
  const msg = Buffer.from(m[1], 'base64');
  return msg.length >= 12 && msg.subarray(0, 8).equals(SIGNATURE) ? msg.readUInt32LE(8) : undefined;
}

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

function securityBuffer(buf: Buffer, at: number, length: number, offset: number): void {
  buf.writeUInt16LE(length, at);
  buf.writeUInt16LE(length, at + 2);
  buf.writeUInt32LE(offset, at + 4);
}

function hmacMd5(key: Buffer, data: Buffer): Buffer {
  return createHmac('md5', key).update(data).digest();
}
