// NTLM (NTLMv2 when the server offers it) message encoding for EWS, from @ewsjs/ntlm-client: the
// implementation @ewsjs/xhr's `useNtlmAuthentication` uses, installed with ews-javascript-api.
// It is loaded lazily and optionally: without it, NTLM profiles fail with UnsupportedConfiguration
// and every other authentication method works.
import { MailError } from './types.js';

/** The three NTLM messages: negotiate (type 1), challenge (type 2), authenticate (type 3). */
export interface NtlmMessages {
  createType1Message(workstation: string, domain: string): string;
  decodeType2Message(wwwAuthenticate: string): unknown;
  createType3Message(type2: unknown, username: string, password: string, workstation: string, domain: string): string;
}

const MODULE = '@ewsjs/ntlm-client';
let loaded: Promise<NtlmMessages | undefined> | undefined;

async function load(): Promise<NtlmMessages | undefined> {
  try {
    // A variable specifier: the package ships no types and is not a direct dependency.
    const name: string = MODULE;
    const mod = (await import(name)) as { default?: NtlmMessages } & Partial<NtlmMessages>;
    const api = mod.default ?? (mod as NtlmMessages);
    return typeof api.createType1Message === 'function' ? api : undefined;
  } catch {
    return undefined;
  }
}

/** The NTLM implementation, or UnsupportedConfiguration when it is not installed. */
export async function ntlmMessages(): Promise<NtlmMessages> {
  loaded ??= load();
  const api = await loaded;
  if (!api) {
    throw new MailError(
      'UnsupportedConfiguration',
      `EWS: NTLM authentication needs the npm package ${MODULE}, which is not installed; install it, or set the profile's authentication to Basic or OAuth2`,
    );
  }
  return api;
}

/** `DOMAIN\user` splits into domain and user; `user@domain` (UPN) is sent whole with no domain. */
export function splitNtlmUser(username: string): { domain: string; user: string } {
  const slash = username.indexOf('\\');
  return slash > 0 ? { domain: username.slice(0, slash).toUpperCase(), user: username.slice(slash + 1) } : { domain: '', user: username };
}
