// One Dataverse emailserverprofile row -> one EmailServerProfile spec, the Secret stubs it needs,
// and findings for what it cannot carry over. Pure.
//
// Server types: Exchange Server (0), Exchange Server (Hybrid) (2) and Exchange Online (Hybrid) (3)
// are Exchange; the table has no plain "Exchange Online" value, so a profile counts as Exchange
// Online when it is type 3, signs in with Server-to-Server or Entra ID OAuth (2, 7), names an
// Exchange Online tenant, or points at outlook.office365.com. Exchange Online is reached through
// Microsoft Graph, on-premises Exchange through EWS. Other (POP3/SMTP) (1) is POP3, IMAP/SMTP (4)
// is IMAP.

import type { EmailServerProfileSpec } from '../api/types.js';
import {
  AUTH_PROTOCOL,
  CREDENTIAL_RETRIEVAL,
  EXCHANGE_VERSION,
  optionName,
  SERVER_AUTHORITY,
  SERVER_TYPE,
  type ProfileRow,
} from './dataverse.js';
import type { FindingKind } from './findings.js';

export type Note = (kind: FindingKind, setting: string, value: unknown, why: string) => void;

export interface SecretStub {
  name: string;
  keys: string[];
  /** Who names it, e.g. "EmailServerProfile contoso-exchange (spec.incoming.credentials.secretRef)". */
  usedBy: string;
  /** A hint for whoever fills it in (never a credential). */
  hint?: string;
}

export interface ProfileContext {
  /** The app registration the importer signed in with: the default for Exchange Online. */
  tenantId: string;
  clientId: string;
  authorityUrl?: string;
  /** Some mailbox of this profile synchronizes appointments, contacts and tasks. */
  act: boolean;
}

export interface MappedProfile {
  spec: EmailServerProfileSpec;
  secrets: SecretStub[];
  /** Keys of the Secret each mailbox must name (spec.credentialsSecretRef); empty when credentials come from the profile. */
  mailboxSecretKeys: string[];
  inactive: boolean;
}

const COL = 'emailserverprofile';
const ONLINE_HOSTS = /(^|\.)(outlook\.office365\.com|outlook\.office365\.us|outlook\.office\.com|partner\.outlook\.cn)$/i;
/** Microsoft Graph and the identity platform of the national clouds (serverauthority). */
const CLOUDS: Record<number, { authority: string; graph: string; name: string }> = {
  [SERVER_AUTHORITY.USGovernment]: {
    authority: 'https://login.microsoftonline.us',
    graph: 'https://graph.microsoft.us/v1.0',
    name: 'US Government (GCC High and DoD)',
  },
  [SERVER_AUTHORITY.China]: {
    authority: 'https://login.chinacloudapi.cn',
    graph: 'https://microsoftgraph.chinacloudapi.cn/v1.0',
    name: 'China (21Vianet)',
  },
};

/** Host and port of a server location written as a host, host:port or a URL. */
export function hostAndPort(location: string | null | undefined): { host?: string; port?: number } {
  const text = (location ?? '').trim();
  if (!text) return {};
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `x://${text}`);
    return { host: u.hostname.replace(/^\[|\]$/g, '') || undefined, ...(u.port ? { port: Number(u.port) } : {}) };
  } catch {
    return { host: text };
  }
}

export function mapProfile(p: ProfileRow, name: string, ctx: ProfileContext, note: Note): MappedProfile | undefined {
  const st = p.servertype;
  const exchange = st === SERVER_TYPE.ExchangeServer || st === SERVER_TYPE.ExchangeHybrid || st === SERVER_TYPE.ExchangeOnlineHybrid;
  let mapped: MappedProfile | undefined;
  if (exchange) mapped = isOnline(p) ? exchangeOnline(p, name, ctx, note) : exchangeServer(p, name, ctx, note);
  else if (st === SERVER_TYPE.IMAPSMTP || st === SERVER_TYPE.POP3SMTP)
    mapped = mailServer(p, name, st === SERVER_TYPE.IMAPSMTP ? 'IMAP' : 'POP3', note);
  else {
    note('NotMigrated', `${COL}.servertype`, st, 'unknown server type: the profile and its mailboxes are not imported');
    return undefined;
  }
  if (!mapped) return undefined;
  common(p, mapped, exchange, ctx, note);
  return mapped;
}

function isOnline(p: ProfileRow): boolean {
  const cred = p.incomingcredentialretrieval;
  return (
    p.servertype === SERVER_TYPE.ExchangeOnlineHybrid ||
    cred === CREDENTIAL_RETRIEVAL.ServerToServer ||
    cred === CREDENTIAL_RETRIEVAL.EntraOAuth ||
    !!p.exchangeonlinetenantid ||
    ONLINE_HOSTS.test(hostAndPort(p.incomingserverlocation).host ?? '')
  );
}

function exchangeOnline(p: ProfileRow, name: string, ctx: ProfileContext, note: Note): MappedProfile {
  const secret = `${name}-graph`;
  const cred = p.incomingcredentialretrieval;
  const ownApp = cred === CREDENTIAL_RETRIEVAL.EntraOAuth && !!p.oauthclientid;
  const clientId = ownApp ? p.oauthclientid! : ctx.clientId;
  const tenantId =
    p.usedefaulttenantid !== true && p.exchangeonlinetenantid ? p.exchangeonlinetenantid : (p.exchangeonlinetenantid ?? ctx.tenantId);
  const cloud = p.serverauthority != null ? CLOUDS[p.serverauthority] : undefined;
  const authorityURL = cloud?.authority ?? ctx.authorityUrl;
  const spec: EmailServerProfileSpec = {
    serverType: 'ExchangeOnline',
    incoming: {
      ...(cloud ? { url: cloud.graph } : {}),
      authentication: 'OAuth2',
      oauth: { tenantId, clientId, ...(authorityURL ? { authorityURL } : {}) },
      credentials: { source: 'Profile', secretRef: { name: secret } },
    },
  };
  const permissions =
    'grant it the Microsoft Graph application permissions Mail.ReadWrite and Mail.Send, scoped to these mailboxes with RBAC for Applications';
  if (cred === CREDENTIAL_RETRIEVAL.ServerToServer) {
    note(
      'Changed',
      `${COL}.incomingcredentialretrieval`,
      optionName(CREDENTIAL_RETRIEVAL, cred),
      `Server-to-Server authentication is Dynamics' own trust with Exchange Online; the operator signs in to Microsoft Graph as an app registration (OAuth2 client credentials), here client id ${clientId}: ${permissions}, and put its client secret in Secret ${secret} (key clientSecret)`,
    );
  } else if (ownApp) {
    note(
      'Action',
      `${COL}.oauthclientsecret`,
      '(not readable)',
      `the app's client secret cannot be read from Dataverse: put it in Secret ${secret} (key clientSecret), and ${permissions} (Dynamics used full_access_as_app on EWS)`,
    );
  } else {
    note(
      'Changed',
      `${COL}.incomingcredentialretrieval`,
      optionName(CREDENTIAL_RETRIEVAL, cred),
      `Exchange Online takes OAuth2 client credentials only: the profile signs in as the app registration with client id ${clientId}; ${permissions}, and put its client secret in Secret ${secret} (key clientSecret)`,
    );
  }
  if (p.useautodiscover || p.incomingserverlocation) {
    note(
      'Changed',
      `${COL}.incomingserverlocation`,
      p.useautodiscover ? 'Autodiscover' : p.incomingserverlocation,
      'Exchange Online is reached through Microsoft Graph (EWS in Exchange Online is switched off from 1 October 2026); the EWS location is not used',
    );
  }
  if (p.incominguseimpersonation)
    note(
      'NotMigrated',
      `${COL}.incominguseimpersonation`,
      true,
      'Graph has no impersonation: the app reaches the mailboxes its application permissions are scoped to',
    );
  if (cloud)
    note(
      'Changed',
      `${COL}.serverauthority`,
      optionName(SERVER_AUTHORITY, p.serverauthority),
      `${cloud.name}: spec.incoming.url and oauth.authorityURL point at that cloud's Microsoft Graph and sign-in`,
    );
  return {
    spec,
    secrets: [
      {
        name: secret,
        keys: ['clientSecret'],
        usedBy: `EmailServerProfile ${name} (spec.incoming.credentials.secretRef)`,
        hint: `client secret of app ${clientId} in tenant ${tenantId}`,
      },
    ],
    mailboxSecretKeys: [],
    inactive: false,
  };
}

/** The EWS authentication of one direction, its credentials and Secret. */
function exchangeAuth(p: ProfileRow, dir: 'incoming' | 'outgoing', name: string, ctx: ProfileContext, note: Note) {
  const protocol = dir === 'incoming' ? p.incomingauthenticationprotocol : p.outgoingauthenticationprotocol;
  const cred = dir === 'incoming' ? p.incomingcredentialretrieval : p.outgoingcredentialretrieval;
  const impersonation = (dir === 'incoming' ? p.incominguseimpersonation : p.outgoinguseimpersonation) ?? false;
  const col = (c: string) => `${COL}.${dir}${c}`;
  let authentication: 'Basic' | 'NTLM' | 'OAuth2' = 'NTLM';
  if (protocol === AUTH_PROTOCOL.Basic) authentication = 'Basic';
  else if (
    protocol === AUTH_PROTOCOL.OAuth ||
    cred === CREDENTIAL_RETRIEVAL.ExchangeHybridModernAuth ||
    cred === CREDENTIAL_RETRIEVAL.EntraOAuth
  )
    authentication = 'OAuth2';
  else if (protocol === AUTH_PROTOCOL.Negotiate) {
    note(
      'NotMigrated',
      col('authenticationprotocol'),
      optionName(AUTH_PROTOCOL, protocol),
      'Negotiate (Kerberos) is not supported: the operator signs in to EWS with NTLM or Basic. Mapped to NTLM, which Negotiate falls back to: make sure the EWS virtual directory allows NTLM',
    );
  } else if (protocol === AUTH_PROTOCOL.AutoDetect || protocol == null) {
    note(
      'Changed',
      col('authenticationprotocol'),
      optionName(AUTH_PROTOCOL, protocol),
      'the operator does not detect the method: NTLM, which the EWS virtual directory offers by default; use Basic if it allows only Basic',
    );
  }
  if (cred === CREDENTIAL_RETRIEVAL.ExchangeHybridModernAuth) {
    note(
      'Changed',
      col('credentialretrieval'),
      optionName(CREDENTIAL_RETRIEVAL, cred),
      `Hybrid Modern Authentication becomes OAuth2 client credentials of an app registration (client id ${p.oauthclientid ?? ctx.clientId}) that Exchange trusts`,
    );
  }
  const fromProfile =
    cred === CREDENTIAL_RETRIEVAL.EmailServerProfile || cred === CREDENTIAL_RETRIEVAL.WindowsIntegrated || authentication === 'OAuth2';
  if (cred === CREDENTIAL_RETRIEVAL.WindowsIntegrated) {
    note(
      'NotMigrated',
      col('credentialretrieval'),
      optionName(CREDENTIAL_RETRIEVAL, cred),
      "Windows Integrated Authentication signs in as the Asynchronous Service's account, which does not exist in Kubernetes: the profile takes a service account's credentials from a Secret instead",
    );
  } else if (cred === CREDENTIAL_RETRIEVAL.Anonymous) {
    note(
      'NotMigrated',
      col('credentialretrieval'),
      optionName(CREDENTIAL_RETRIEVAL, cred),
      'Exchange needs credentials: each mailbox takes its own from a Secret',
    );
  }
  const keys = authentication === 'OAuth2' ? ['clientSecret'] : ['username', 'password'];
  const secret = dir === 'incoming' ? `${name}-credentials` : `${name}-outgoing-credentials`;
  const spec = {
    authentication,
    ...(authentication === 'OAuth2'
      ? {
          oauth: {
            tenantId: p.exchangeonlinetenantid ?? ctx.tenantId,
            clientId: p.oauthclientid ?? ctx.clientId,
            ...(ctx.authorityUrl ? { authorityURL: ctx.authorityUrl } : {}),
          },
        }
      : {}),
    credentials: fromProfile
      ? { source: 'Profile' as const, secretRef: { name: secret }, ...(impersonation ? { impersonation: true } : {}) }
      : { source: 'Mailbox' as const },
  };
  if (impersonation && !fromProfile)
    note(
      'NotMigrated',
      col('useimpersonation'),
      true,
      'impersonation needs one service account: with credentials from each mailbox, each signs in as itself',
    );
  const user = dir === 'incoming' ? p.incomingusername : p.outgoingusername;
  const stub = fromProfile
    ? {
        name: secret,
        keys,
        usedBy: `EmailServerProfile ${name} (spec.${dir}.credentials.secretRef)`,
        ...(user && authentication !== 'OAuth2' ? { hint: `user name in Dynamics: ${user}` } : {}),
      }
    : undefined;
  return { spec, stub, mailboxKeys: fromProfile ? [] : keys };
}

function ewsUrl(location: string | null | undefined, setting: string, note: Note): string | undefined {
  const text = (location ?? '').trim();
  if (!text) return undefined;
  if (/^https:\/\//i.test(text)) return text;
  if (/^http:\/\//i.test(text)) {
    note(
      'Changed',
      setting,
      text,
      'an http:// EWS URL would send credentials in cleartext: changed to https://; set spec.allowInsecureAuthentication yourself only for an isolated test system',
    );
    return text.replace(/^http:/i, 'https:');
  }
  return `https://${hostAndPort(text).host}/EWS/Exchange.asmx`;
}

function exchangeServer(p: ProfileRow, name: string, ctx: ProfileContext, note: Note): MappedProfile {
  const url = p.useautodiscover ? undefined : ewsUrl(p.incomingserverlocation, `${COL}.incomingserverlocation`, note);
  if (!p.useautodiscover && !url)
    note('Changed', `${COL}.useautodiscover`, false, 'no EWS URL in Dynamics: the profile finds it with Autodiscover');
  const incoming = exchangeAuth(p, 'incoming', name, ctx, note);
  const same = p.usesamesettingsforoutgoingconnections !== false;
  const spec: EmailServerProfileSpec = {
    serverType: 'ExchangeServer',
    incoming: { ...(url ? { url } : { autodiscover: true }), ...incoming.spec },
  };
  const secrets = incoming.stub ? [incoming.stub] : [];
  let mailboxKeys = incoming.mailboxKeys;
  const outUrl = ewsUrl(p.outgoingserverlocation, `${COL}.outgoingserverlocation`, note);
  if (!same) {
    const outgoing = exchangeAuth(p, 'outgoing', name, ctx, note);
    spec.useSameSettingsForOutgoing = false;
    spec.outgoing = { ...(outUrl && outUrl !== url ? { url: outUrl } : {}), ...outgoing.spec };
    if (outgoing.stub) secrets.push(outgoing.stub);
    mailboxKeys = [...new Set([...mailboxKeys, ...outgoing.mailboxKeys])];
  } else if (outUrl && outUrl !== url && !p.useautodiscover) {
    spec.outgoing = { url: outUrl };
  }
  const version = p.exchangeversion;
  if (version != null && version < EXCHANGE_VERSION.Exchange2013) {
    note(
      'NotMigrated',
      `${COL}.exchangeversion`,
      optionName(EXCHANGE_VERSION, version),
      'the operator speaks EWS of Exchange 2013 and later; older servers are not supported',
    );
  }
  if (p.outgoingautograntdelegateaccess)
    note(
      'NotMigrated',
      `${COL}.outgoingautograntdelegateaccess`,
      true,
      'the operator does not grant delegate access: give the service account Send As or impersonation rights in Exchange',
    );
  return { spec, secrets, mailboxSecretKeys: mailboxKeys, inactive: false };
}

/** TLS mode for a port and Dynamics' "Use SSL" flag: implicit TLS on the TLS ports, STARTTLS on the others. */
function tlsMode(useSsl: boolean | null | undefined, port: number | undefined, setting: string, note: Note): 'Implicit' | 'STARTTLS' {
  const startTlsPorts = [143, 110, 587, 25];
  if (useSsl === false) {
    note(
      'NotMigrated',
      setting,
      false,
      'the operator sends credentials only over TLS: mapped to STARTTLS. If the server offers no TLS at all, set tls: None and allowInsecureAuthentication: true yourself, accepting passwords in cleartext',
    );
    return 'STARTTLS';
  }
  return port !== undefined && startTlsPorts.includes(port) ? 'STARTTLS' : 'Implicit';
}

function mailServer(p: ProfileRow, name: string, type: 'IMAP' | 'POP3', note: Note): MappedProfile | undefined {
  const inLoc = hostAndPort(p.incomingserverlocation);
  if (!inLoc.host) {
    note(
      'NotMigrated',
      `${COL}.incomingserverlocation`,
      '(empty)',
      `an ${type} profile needs a server: the profile and its mailboxes are not imported`,
    );
    return undefined;
  }
  const inPort = p.incomingportnumber || inLoc.port;
  const cred = p.incomingcredentialretrieval;
  const gmailOAuth = cred === CREDENTIAL_RETRIEVAL.GmailOAuth;
  const fromProfile = cred === CREDENTIAL_RETRIEVAL.EmailServerProfile;
  const keys = gmailOAuth ? ['accessToken'] : ['username', 'password'];
  const secret = `${name}-credentials`;
  const col = (dir: string, c: string) => `${COL}.${dir}${c}`;
  for (const dir of ['incoming', 'outgoing'] as const) {
    const protocol = dir === 'incoming' ? p.incomingauthenticationprotocol : p.outgoingauthenticationprotocol;
    if (protocol === AUTH_PROTOCOL.Negotiate || protocol === AUTH_PROTOCOL.NTLM) {
      note(
        'NotMigrated',
        col(dir, 'authenticationprotocol'),
        optionName(AUTH_PROTOCOL, protocol),
        `${dir === 'incoming' ? type : 'SMTP'} signs in with a password (LOGIN/PLAIN) or XOAUTH2; ${protocol === AUTH_PROTOCOL.NTLM ? 'NTLM' : 'Negotiate (Kerberos)'} is not supported: mapped to Basic`,
      );
    }
  }
  if (gmailOAuth) {
    note(
      'Action',
      col('incoming', 'credentialretrieval'),
      optionName(CREDENTIAL_RETRIEVAL, cred),
      "Gmail OAuth becomes XOAUTH2 with each mailbox's access token in its Secret (key accessToken); Dynamics' tokens cannot be read, and the operator does not refresh them: keep the Secrets current with your token tooling",
    );
  } else if (cred !== CREDENTIAL_RETRIEVAL.UserOrQueue && !fromProfile && cred != null) {
    note(
      'NotMigrated',
      col('incoming', 'credentialretrieval'),
      optionName(CREDENTIAL_RETRIEVAL, cred),
      `not available for ${type}: each mailbox takes its own credentials from a Secret`,
    );
  }
  const credentials = fromProfile ? { source: 'Profile' as const, secretRef: { name: secret } } : { source: 'Mailbox' as const };
  const spec: EmailServerProfileSpec = {
    serverType: type,
    incoming: {
      server: inLoc.host,
      ...(inPort ? { port: inPort } : {}),
      tls: tlsMode(p.incomingusessl, inPort, col('incoming', 'usessl'), note),
      ...(gmailOAuth ? { authentication: 'XOAUTH2' as const } : {}),
      credentials,
    },
  };
  const secrets: SecretStub[] = fromProfile
    ? [
        {
          name: secret,
          keys,
          usedBy: `EmailServerProfile ${name} (spec.incoming.credentials.secretRef)`,
          ...(p.incomingusername ? { hint: `user name in Dynamics: ${p.incomingusername}` } : {}),
        },
      ]
    : [];
  let mailboxKeys = fromProfile ? [] : keys;
  const outLoc = hostAndPort(p.outgoingserverlocation);
  if (outLoc.host) {
    const outPort = p.outgoingportnumber || outLoc.port;
    spec.outgoing = {
      server: outLoc.host,
      ...(outPort ? { port: outPort } : {}),
      tls: tlsMode(p.outgoingusessl, outPort, col('outgoing', 'usessl'), note),
    };
    if (p.usesamesettingsforoutgoingconnections === false) {
      const outCred = p.outgoingcredentialretrieval;
      spec.useSameSettingsForOutgoing = false;
      if (outCred === CREDENTIAL_RETRIEVAL.Anonymous) {
        note(
          'NotMigrated',
          col('outgoing', 'credentialretrieval'),
          optionName(CREDENTIAL_RETRIEVAL, outCred),
          'the operator always signs in to SMTP (no anonymous relay): each mailbox takes its own credentials from a Secret',
        );
      }
      if (outCred === CREDENTIAL_RETRIEVAL.EmailServerProfile) {
        const outSecret = `${name}-outgoing-credentials`;
        spec.outgoing.credentials = { source: 'Profile', secretRef: { name: outSecret } };
        secrets.push({
          name: outSecret,
          keys: ['username', 'password'],
          usedBy: `EmailServerProfile ${name} (spec.outgoing.credentials.secretRef)`,
          ...(p.outgoingusername ? { hint: `user name in Dynamics: ${p.outgoingusername}` } : {}),
        });
      } else {
        spec.outgoing.credentials = { source: 'Mailbox' };
        mailboxKeys = [...new Set([...mailboxKeys, 'username', 'password'])];
      }
    }
  } else {
    note(
      'Action',
      `${COL}.outgoingserverlocation`,
      '(empty)',
      'no SMTP server in Dynamics: set spec.outgoing.server before any mailbox of this profile sends mail',
    );
  }
  if (p.useautodiscover)
    note(
      'NotMigrated',
      `${COL}.useautodiscover`,
      true,
      `Autodiscover is for Exchange; the ${type} server is named in spec.incoming.server`,
    );
  if (p.incominguseimpersonation || p.outgoinguseimpersonation)
    note('NotMigrated', `${COL}.incominguseimpersonation`, true, 'impersonation is for Exchange');
  return { spec, secrets, mailboxSecretKeys: mailboxKeys, inactive: false };
}

/** Settings every type shares. */
function common(p: ProfileRow, m: MappedProfile, exchange: boolean, ctx: ProfileContext, note: Note): void {
  const spec = m.spec;
  if (p.maxconcurrentconnections != null && p.maxconcurrentconnections >= 1 && p.maxconcurrentconnections <= 300)
    spec.maxConcurrentConnections = p.maxconcurrentconnections;
  if (p.minpollingintervalinminutes != null) {
    if (p.minpollingintervalinminutes > 0) spec.minPollingInterval = `${p.minpollingintervalinminutes}m`;
    else
      note(
        'Changed',
        `${COL}.minpollingintervalinminutes`,
        0,
        'no minimum: the operator keeps its default safety resync of 5m (new mail arrives through IDLE or change notifications meanwhile)',
      );
  }
  const after = rfc3339(p.processemailsreceivedafter);
  if (after) spec.processEmailReceivedAfter = after;
  if (p.moveundeliveredemails) spec.moveFailedToUndeliverable = true;
  if (
    p.timeoutmailboxconnection !== false &&
    p.timeoutmailboxconnectionafteramount &&
    p.timeoutmailboxconnectionafteramount > 0 &&
    spec.incoming
  ) {
    spec.incoming.timeout = `${Math.ceil(p.timeoutmailboxconnectionafteramount / 1000)}s`;
  }
  if (exchange && ctx.act) spec.appointmentsContactsTasks = { enabled: true };
  if (p.statecode === 1) {
    m.inactive = true;
    note(
      'Changed',
      `${COL}.statecode`,
      'Inactive (1)',
      'an inactive profile processes no mail in Dynamics: its mailboxes are imported with spec.suspended: true',
    );
  }
  if (p.sendemailalert)
    note(
      'NotMigrated',
      `${COL}.sendemailalert`,
      true,
      "alert emails to the profile's owner are not sent: the Helm chart's alert fires when half a profile's mailboxes fail (docs/helm.md, Alerts)",
    );
  if (p.encodingcodepage)
    note(
      'NotMigrated',
      `${COL}.encodingcodepage`,
      p.encodingcodepage,
      "the operator reads each message's own charset (MIME); a fixed code page is not used",
    );
  if (p.acsenabledforoutgoingemail)
    note(
      'NotMigrated',
      `${COL}.acsenabledforoutgoingemail`,
      true,
      'sending through Azure Communication Services is not supported: mail is sent through the mail server of the profile',
    );
  if (p._keyvaultreferenceid_value)
    note(
      'Action',
      `${COL}.keyvaultreferenceid`,
      p._keyvaultreferenceid_value,
      'secrets in Azure Key Vault are not read: put the secret in the Secret named by the profile (for example with the External Secrets Operator)',
    );
  if (p._managedidentityid_value)
    note(
      'NotMigrated',
      `${COL}.managedidentityid`,
      p._managedidentityid_value,
      "a Dataverse managed identity is Dynamics' own: the operator signs in with the credentials in the profile's Secret",
    );
}

/** An RFC 3339 time for a Dataverse DateTime (full or date-only), seconds precision; undefined when empty or unreadable. */
export function rfc3339(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
