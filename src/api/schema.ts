// The API of mailsync.dev/v1alpha1 as OpenAPI schemas: the single source of truth. `generate.ts`
// renders the CRDs in crds/ and the TypeScript types in types.generated.ts from these, and
// validation.ts compiles them with ajv. Cross-field rules are CEL (x-kubernetes-validations) so
// the API server itself rejects them; whatever CEL cannot see (other objects) the reconcilers check.

import {
  arr,
  bool,
  conditionsSchema,
  domainName,
  duration,
  emailAddress,
  hostName,
  int,
  localRef,
  obj,
  observedGeneration,
  oneOf,
  quantity,
  secretKeyRef,
  str,
  type Rule,
  type Schema,
  webUrl,
} from './schema-builders.js';
import { ACT_CONFIGURABLE as CONFIGURABLE } from './act-fields.js';

export const GROUP = 'mailsync.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const SERVER_TYPES = ['ExchangeServer', 'ExchangeOnline', 'IMAP', 'POP3'] as const;
export const TLS_MODES = ['Implicit', 'STARTTLS', 'None'] as const;
export const AUTH_METHODS = ['Basic', 'NTLM', 'OAuth2', 'XOAUTH2', 'None'] as const;
export const INCOMING_METHODS = ['ServerSideSync', 'ForwardMailbox', 'None'] as const;
export const OUTGOING_METHODS = ['ServerSideSync', 'None'] as const;
export const ACT_METHODS = ['ServerSideSync', 'None'] as const;
export const FILTERING_METHODS = ['All', 'RepliesToCRMEmail', 'FromCRMRecords', 'FromEmailEnabledRecords', 'None', 'CRMDecides'] as const;
/** Exchange Server versions reachable over EWS (Exchange 2010 SP3 speaks the 2010 SP2 schema; SE and 2019 the 2016 one). */
export const EXCHANGE_VERSIONS = [
  'Exchange2010',
  'Exchange2010_SP1',
  'Exchange2010_SP2',
  'Exchange2013',
  'Exchange2013_SP1',
  'Exchange2016',
  'Exchange2019',
] as const;

const caBundle = obj(
  'Extra certificate authorities to trust for this server, in PEM. Certificate verification is always on; ' +
    'this only adds trust, for servers whose certificate is issued by a private CA.',
  {
    secretRef: secretKeyRef('A Secret key holding the PEM bundle (key defaults to ca.crt).'),
    configMapRef: secretKeyRef('A ConfigMap key holding the PEM bundle (key defaults to ca.crt).', 'ConfigMap'),
  },
  {
    rules: [
      { rule: 'has(self.secretRef) != has(self.configMapRef)', message: 'set exactly one of caBundle.secretRef or caBundle.configMapRef' },
    ],
  },
);

/** OAuth 2.0 settings; `optIn` is the field that allows an http:// authority or token URL. */
const oauthSettings = (optIn: string, secretField: string) =>
  obj(
    'OAuth 2.0 (docs/oauth.md). OAuth2: an app-only token (client credentials) for Microsoft Graph, EWS or Dataverse. XOAUTH2 with ' +
      "these settings: a token for IMAP, POP3 and SMTP from the token endpoint: delegated, from a user's refresh token (Secret key " +
      "refreshToken: Gmail, Microsoft 365), or app-only (client credentials: Microsoft 365's IMAP, POP and SMTP). The client proves " +
      `itself with the Secret in ${secretField}: key clientSecret, or a certificate (keys tls.crt and tls.key, a kubernetes.io/tls ` +
      'Secret: no shared secret travels), or needs no Secret at all with serviceAccountName (workload identity federation).',
    {
      tenantId: str('Microsoft Entra tenant ID (GUID) or domain.', { maxLength: 253 }),
      clientId: str('Application (client) ID registered in the identity provider.', { maxLength: 1024 }),
      authorityURL: webUrl(
        'Token authority. Defaults to https://login.microsoftonline.com; use https://login.microsoftonline.us or ' +
          `https://login.chinacloudapi.cn for sovereign clouds. Credentials are sent here: http:// needs ${optIn}: true.`,
        'https://login.microsoftonline.com',
        optIn,
      ),
      tokenURL: webUrl(
        'The token endpoint itself, instead of {authorityURL}/{tenantId}/oauth2/v2.0/token: https://oauth2.googleapis.com/token for ' +
          `Google accounts. Credentials are sent here: http:// needs ${optIn}: true.`,
        'https://oauth2.googleapis.com/token',
        optIn,
      ),
      scope: str(
        'Scope requested with the token. Defaults to https://graph.microsoft.com/.default for Graph, https://outlook.office365.com/.default ' +
          'for EWS and app-only IMAP/POP/SMTP, the Dataverse organization for the CRM, and none for a refresh token (it keeps what the user consented to).',
        { maxLength: 1024 },
      ),
      serviceAccountName: str(
        "Workload identity federation, as AKS workload identity does: a token of this ServiceAccount (in this object's namespace), " +
          'requested from the API server for the audience api://AzureADTokenExchange, is exchanged at the token endpoint instead of a secret ' +
          "or certificate. The app registration trusts it with a federated credential (issuer: the cluster's service account issuer; " +
          'subject: system:serviceaccount:<namespace>:<name>). Whoever sets it must be allowed to create tokens for that ServiceAccount.',
        { minLength: 1, maxLength: 253 },
      ),
    },
    { required: ['clientId'] },
  );

const credentials = obj(
  'Where the credentials come from.',
  {
    source: oneOf(
      ['Profile', 'Mailbox'],
      'Profile: one Secret for all mailboxes of this profile (a service account using impersonation or delegated ' +
        '"send as" rights). Mailbox: each Mailbox names its own Secret in spec.credentialsSecretRef.',
      { default: 'Mailbox' },
    ),
    secretRef: localRef(
      'Secret with keys username and password (Basic, NTLM); clientSecret, or tls.crt and tls.key (OAuth2); accessToken, or with oauth ' +
        "a refreshToken or the client's credentials (XOAUTH2). Required when source is Profile, unless oauth.serviceAccountName stands for it.",
      'Secret',
    ),
    impersonation: bool('Exchange only: act as each mailbox through the ApplicationImpersonation role.', { default: false }),
  },
  {
    rules: [
      {
        rule: "self.source != 'Mailbox' || !has(self.secretRef)",
        message:
          'credentials.secretRef must be empty when credentials.source is Mailbox: each Mailbox names its Secret in spec.credentialsSecretRef',
        fieldPath: '.secretRef',
      },
    ],
  },
);

const SAME_SETTINGS = 'authentication, credentials and oauth';

function connection(direction: 'incoming' | 'outgoing'): Schema {
  const protocols = direction === 'incoming' ? ['EWS', 'Graph', 'IMAP', 'POP3'] : ['EWS', 'Graph', 'SMTP'];
  const [example, port, ports] =
    direction === 'incoming' ? ['imap.example.com', 993, 'IMAP 993/143, POP3 995/110'] : ['smtp.example.com', 587, 'SMTP 465/587'];
  // Outgoing's descriptions say what useSameSettingsForOutgoing does to them.
  const note = (s: Schema, text: string): Schema => (direction === 'outgoing' ? { ...s, description: `${s.description} ${text}` } : s);
  const shared = (s: Schema) =>
    note(s, 'Set only when spec.useSameSettingsForOutgoing is false; while it is true the incoming one is used.');
  const props: Record<string, Schema> = {
    protocol: oneOf(
      protocols,
      `Protocol for ${direction} mail. Defaults from serverType (ExchangeServer: EWS, ExchangeOnline: Graph, IMAP/POP3: ${direction === 'incoming' ? 'IMAP/POP3' : 'SMTP'}).`,
    ),
    server: hostName(
      `Host name or IP address of the ${direction} mail server: ${example}, 192.0.2.10, 2001:db8::1 or [2001:db8::1]. No URL and no port (see port).`,
      example,
      `spec.${direction}.port`,
      port,
    ),
    url: webUrl(
      `Exchange Web Services or Microsoft Graph endpoint for ${direction} mail (for example https://mail.example.com/EWS/Exchange.asmx). ` +
        'Must be an https:// URL unless spec.allowInsecureAuthentication is true.',
      'https://mail.example.com/EWS/Exchange.asmx',
      'spec.allowInsecureAuthentication',
    ),
    port: int(`TCP port. Defaults from the protocol and TLS mode (${ports}).`, { minimum: 1, maximum: 65535 }),
    tls: oneOf(
      TLS_MODES,
      'Transport security for IMAP, POP3 and SMTP: Implicit (TLS from the first byte), STARTTLS (upgrade, mandatory), or None ' +
        '(only with spec.allowInsecureAuthentication: true). EWS and Graph follow the scheme of url.',
      { default: 'Implicit' },
    ),
    autodiscover: bool('Exchange only: find the EWS URL through Autodiscover instead of url.', { default: false }),
    authentication: shared(
      oneOf(
        AUTH_METHODS,
        'Authentication method. NTLM is for Exchange Server (EWS), OAuth2 (client credentials) for Exchange, XOAUTH2 for IMAP, POP3 and ' +
          "SMTP (a static accessToken, or tokens from oauth). None: an anonymous SMTP relay that accepts mail by the sender's IP " +
          '(outgoing SMTP only, with useSameSettingsForOutgoing: false; TLS still applies). Defaults to Basic.',
        // Outgoing has no default, so that a value written while useSameSettingsForOutgoing is true is refused rather than ignored.
        direction === 'incoming' ? { default: 'Basic' } : {},
      ),
    ),
    credentials: shared(credentials),
    oauth: shared(oauthSettings('spec.allowInsecureAuthentication', "credentials.secretRef (or each Mailbox's spec.credentialsSecretRef)")),
    caBundle: note(caBundle, 'While spec.useSameSettingsForOutgoing is true, outgoing trusts the incoming caBundle unless this is set.'),
    timeout: duration('Per-operation timeout for this server.', { default: '30s' }),
  };
  if (direction === 'incoming') {
    // No schema defaults here: a defaulted new field would change the revision of every existing
    // profile and roll all of their mailboxes out again. The defaults are the operator's.
    props.notifications = oneOf(
      ['Push', 'Poll'],
      'How new mail is noticed. Push (the default): IMAP IDLE, EWS streaming notifications or Microsoft Graph change notifications ' +
        '(the operator must be given its public notification URL), each with a safety resync that adapts between minPollingInterval and ' +
        'maxPollingInterval; where push is not available the mailbox is polled and status.sync.incoming.notifications says why. ' +
        'Poll: polled only, between minPollingInterval and maxPollingInterval, holding no IMAP connection between polls (fewer ' +
        'connections on the server, mail arrives later). POP3 is always polled.',
    );
    props.compress = bool(
      'IMAP only: negotiate COMPRESS=DEFLATE (RFC 4978) when the server offers it. Off by default; mail compresses to about a third, ' +
        'which pays over slow or metered links, and it measured somewhat faster on loopback too (see docs/sync.md).',
    );
  }
  if (direction === 'outgoing') {
    props.saveToSentFolder = bool(
      "IMAP profiles: after the SMTP server accepted a message, save a copy in the mailbox's Sent folder over IMAP (APPEND, flagged " +
        'as read; the folder marked \\Sent, else one named Sent, created when missing), as a mail client does. Unset means true. ' +
        'Set false for servers that save sent mail themselves (Gmail, Exchange, Microsoft 365), or the copy appears twice. ' +
        'Exchange profiles always save it (EWS SendAndSaveCopy, Graph sendMail).',
    );
    props.sendMode = oneOf(
      ['SendAs', 'SendOnBehalf'],
      'SendAs: mail appears to come from the mailbox owner alone. SendOnBehalf: From is the owner and Sender the sending mailbox.',
      { default: 'SendAs' },
    );
  }
  return obj(`How to reach the ${direction} mail server.`, props);
}

const exchange = "['ExchangeServer', 'ExchangeOnline']";

/**
 * CEL: whether the http(s) URL in `expr` names a loopback host (localhost, 127.0.0.1, [::1]). Traffic
 * to these never leaves the pod's network namespace (a CRM adapter running as a sidecar), so
 * cleartext there exposes nothing on the network. url() needs a valid URL; isURL guards it.
 */
const loopbackUrl = (expr: string) => `(isURL(${expr}) && url(${expr}).getHostname() in ['localhost', '127.0.0.1', '::1'])`;
const mailTypes = "['IMAP', 'POP3']";
const INSECURE_OPT_IN = 'or set spec.allowInsecureAuthentication: true to accept the risk';

/**
 * Rules refusing credentials over a connection without TLS unless explicitly allowed. Every
 * method counts, NTLM included: an NTLM challenge-response seen on the wire can be cracked offline.
 */
function insecureAuthRules(dir: 'incoming' | 'outgoing'): Rule[] {
  const d = `self.${dir}`;
  return [
    {
      // tls governs IMAP, POP3 and SMTP; EWS and Graph follow their URL's scheme (the next rule).
      rule: `!(self.serverType in ${mailTypes}) || !has(${d}) || ${d}.tls != 'None' || self.allowInsecureAuthentication`,
      message:
        `spec.${dir}.tls: None would send credentials in cleartext (passwords and tokens as they are, and every method including NTLM ` +
        `can be read or cracked offline from the wire); use tls: Implicit or STARTTLS, ${INSECURE_OPT_IN}`,
      fieldPath: `.${dir}.tls`,
    },
    {
      rule: `!has(${d}) || !has(${d}.url) || !${d}.url.startsWith('http://') || self.allowInsecureAuthentication`,
      message: `spec.${dir}.url uses http://, which would send credentials in cleartext; use https://, ${INSECURE_OPT_IN}`,
      fieldPath: `.${dir}.url`,
    },
    {
      rule: `!has(${d}) || !has(${d}.oauth) || !has(${d}.oauth.authorityURL) || !${d}.oauth.authorityURL.startsWith('http://') || self.allowInsecureAuthentication`,
      message: `spec.${dir}.oauth.authorityURL uses http://, which would send the client secret in cleartext; use https://, ${INSECURE_OPT_IN}`,
      fieldPath: `.${dir}.oauth.authorityURL`,
    },
    {
      rule: `!has(${d}) || !has(${d}.oauth) || !has(${d}.oauth.tokenURL) || !${d}.oauth.tokenURL.startsWith('http://') || self.allowInsecureAuthentication`,
      message: `spec.${dir}.oauth.tokenURL uses http://, which would send the client secret or refresh token in cleartext; use https://, ${INSECURE_OPT_IN}`,
      fieldPath: `.${dir}.oauth.tokenURL`,
    },
  ];
}

/**
 * Options that belong to one family of servers, for one direction. A defaulted value counts as a
 * written one: the family comes from serverType (the protocol rules below keep protocol in step
 * with it), and outgoing's own authentication is checked whenever it is in use
 * (useSameSettingsForOutgoing false); while it is true, the incoming rules cover what outgoing uses.
 */
function familyRules(dir: 'incoming' | 'outgoing'): Rule[] {
  const d = `self.${dir}`;
  const ownAuth = dir === 'incoming' ? `has(${d})` : `!self.useSameSettingsForOutgoing && has(${d}) && has(${d}.authentication)`;
  const auth = `${d}.authentication`;
  const unless = (condition: string, ok: string) => `!(${condition}) || ${ok}`;
  const family = dir === 'incoming' ? 'IMAP and POP3 use' : 'SMTP uses';
  return [
    {
      rule: unless(ownAuth, `${auth} != 'NTLM' || self.serverType == 'ExchangeServer'`),
      message: `spec.${dir}.authentication: NTLM is only available with Exchange Web Services (serverType: ExchangeServer); ${family} Basic or XOAUTH2, Microsoft Graph uses OAuth2`,
      fieldPath: `.${dir}.authentication`,
    },
    {
      rule: unless(ownAuth, `${auth} != 'OAuth2' || self.serverType in ${exchange}`),
      message: `spec.${dir}.authentication: OAuth2 client credentials are for Exchange profiles; ${family} Basic or XOAUTH2 (a bearer token in the Secret key accessToken)`,
      fieldPath: `.${dir}.authentication`,
    },
    {
      rule: unless(ownAuth, `${auth} != 'XOAUTH2' || !(self.serverType in ${exchange})`),
      message: `spec.${dir}.authentication: XOAUTH2 is for IMAP, POP3 and SMTP; Exchange profiles use Basic, NTLM (ExchangeServer) or OAuth2`,
      fieldPath: `.${dir}.authentication`,
    },
    {
      rule: unless(ownAuth, `${auth} != 'OAuth2' || has(${d}.oauth)`),
      message: `spec.${dir}.oauth is required with authentication: OAuth2: set clientId (and tenantId for Microsoft Entra)`,
      fieldPath: `.${dir}.oauth`,
      reason: 'FieldValueRequired',
    },
    {
      rule: `self.serverType != 'ExchangeOnline' || !has(${d}) || !has(${d}.oauth) || has(${d}.oauth.tenantId)`,
      message: `spec.${dir}.oauth.tenantId is required for ExchangeOnline profiles: the Microsoft Entra tenant (GUID or domain) of the app registration`,
      fieldPath: `.${dir}.oauth`,
      reason: 'FieldValueRequired',
    },
    {
      rule: `!has(${d}) || !has(${d}.credentials) || ${d}.credentials.source != 'Profile' || has(${d}.credentials.secretRef) || (has(${d}.oauth) && has(${d}.oauth.serviceAccountName))`,
      message: `spec.${dir}.credentials.secretRef is required when credentials.source is Profile (or spec.${dir}.oauth.serviceAccountName, for workload identity)`,
      fieldPath: `.${dir}.credentials.secretRef`,
      reason: 'FieldValueRequired',
    },
    {
      rule: unless(ownAuth, `${auth} != 'None' || ${dir === 'outgoing' ? `self.serverType in ${mailTypes}` : 'false'}`),
      message:
        dir === 'incoming'
          ? 'spec.incoming.authentication: None is for an anonymous SMTP relay (outgoing); set it on spec.outgoing with useSameSettingsForOutgoing: false'
          : 'spec.outgoing.authentication: None (an anonymous SMTP relay) is for IMAP and POP3 profiles; Exchange sends through EWS or Graph, which need sign-in',
      fieldPath: `.${dir}.authentication`,
    },
    {
      rule: `self.serverType in ${exchange} || !has(${d}) || !${d}.autodiscover`,
      message: `spec.${dir}.autodiscover is only available for Exchange profiles; set spec.${dir}.server instead`,
      fieldPath: `.${dir}.autodiscover`,
    },
    {
      rule: `self.serverType in ${exchange} || !has(${d}) || !has(${d}.credentials) || !${d}.credentials.impersonation`,
      message: `spec.${dir}.credentials.impersonation is only available for Exchange profiles (ApplicationImpersonation); remove it`,
      fieldPath: `.${dir}.credentials.impersonation`,
    },
  ];
}

const profileRules: Rule[] = [
  // Protocol pairings that server-side sync does not support.
  {
    rule: `!(self.serverType in ${mailTypes}) || !has(self.outgoing) || !has(self.outgoing.protocol) || self.outgoing.protocol == 'SMTP'`,
    message:
      'spec.outgoing.protocol: IMAP and POP3 profiles send through SMTP; Exchange outgoing with POP3 or IMAP incoming is not supported. Set spec.outgoing.protocol to SMTP or remove it',
    fieldPath: '.outgoing.protocol',
  },
  {
    rule: `!(self.serverType in ${exchange}) || !has(self.outgoing) || !has(self.outgoing.protocol) || self.outgoing.protocol == (self.serverType == 'ExchangeServer' ? 'EWS' : 'Graph')`,
    message:
      'spec.outgoing.protocol: Exchange profiles send through Exchange (EWS for ExchangeServer, Graph for ExchangeOnline); SMTP outgoing with Exchange incoming is not supported. Remove spec.outgoing.protocol or use a separate IMAP profile',
    fieldPath: '.outgoing.protocol',
  },
  {
    rule: "!has(self.incoming) || !has(self.incoming.protocol) || self.incoming.protocol == (self.serverType == 'ExchangeServer' ? 'EWS' : self.serverType == 'ExchangeOnline' ? 'Graph' : self.serverType)",
    message:
      'spec.incoming.protocol must match spec.serverType (ExchangeServer: EWS, ExchangeOnline: Graph, IMAP: IMAP, POP3: POP3); remove it to use the default',
    fieldPath: '.incoming.protocol',
  },
  // Required fields per type.
  {
    rule: `!(self.serverType in ${mailTypes}) || (has(self.incoming) && has(self.incoming.server))`,
    message: 'spec.incoming.server is required for IMAP and POP3 profiles: the host name of the mail server',
    fieldPath: '.incoming',
    reason: 'FieldValueRequired',
  },
  {
    rule: "self.serverType != 'ExchangeServer' || (has(self.incoming) && (has(self.incoming.url) || self.incoming.autodiscover))",
    message:
      'spec.incoming.url (the EWS URL, e.g. https://mail.example.com/EWS/Exchange.asmx) or spec.incoming.autodiscover: true is required for ExchangeServer profiles',
    fieldPath: '.incoming',
    reason: 'FieldValueRequired',
  },
  // Microsoft Graph takes OAuth2 client credentials only, in both directions.
  {
    rule: "self.serverType != 'ExchangeOnline' || (has(self.incoming) && self.incoming.authentication == 'OAuth2')",
    message:
      'spec.incoming.authentication: ExchangeOnline profiles reach Microsoft Graph, which takes OAuth2 client credentials only: ' +
      'set authentication: OAuth2, spec.incoming.oauth (tenantId, clientId) and a Secret with key clientSecret',
    fieldPath: '.incoming.authentication',
  },
  {
    rule: "self.serverType != 'ExchangeOnline' || self.useSameSettingsForOutgoing || (has(self.outgoing) && has(self.outgoing.authentication) && self.outgoing.authentication == 'OAuth2')",
    message:
      'spec.outgoing.authentication: ExchangeOnline profiles send through Microsoft Graph, which takes OAuth2 client credentials only: ' +
      'set authentication: OAuth2 and spec.outgoing.oauth, or set spec.useSameSettingsForOutgoing: true',
    fieldPath: '.outgoing.authentication',
  },
  ...familyRules('incoming'),
  ...familyRules('outgoing'),
  {
    rule: "self.serverType == 'IMAP' || !has(self.incoming) || !has(self.incoming.compress) || !self.incoming.compress",
    message: 'spec.incoming.compress: COMPRESS=DEFLATE is an IMAP extension; remove it for Exchange and POP3 profiles',
    fieldPath: '.incoming.compress',
  },
  {
    rule: "self.serverType == 'IMAP' || !has(self.outgoing) || !has(self.outgoing.saveToSentFolder)",
    message:
      'spec.outgoing.saveToSentFolder is for IMAP profiles (the copy is saved over IMAP); POP3 has no folders and Exchange saves sent mail itself: remove it',
    fieldPath: '.outgoing.saveToSentFolder',
  },
  {
    rule: "!has(self.exchangeVersion) || self.serverType == 'ExchangeServer'",
    message:
      'spec.exchangeVersion is only for ExchangeServer profiles (EWS); Exchange Online is reached through Microsoft Graph, IMAP and POP3 have no version: remove it',
    fieldPath: '.exchangeVersion',
  },
  {
    rule: `self.serverType in ${exchange} || !has(self.appointmentsContactsTasks) || !self.appointmentsContactsTasks.enabled`,
    message:
      'spec.appointmentsContactsTasks.enabled: appointment, contact and task synchronization needs Exchange (ExchangeServer or ExchangeOnline); IMAP and POP3 profiles synchronize email only',
    fieldPath: '.appointmentsContactsTasks.enabled',
  },
  {
    rule: '!self.useSameSettingsForOutgoing || !has(self.outgoing) || (!has(self.outgoing.credentials) && !has(self.outgoing.authentication) && !has(self.outgoing.oauth))',
    message: `spec.outgoing: ${SAME_SETTINGS} are taken from spec.incoming while spec.useSameSettingsForOutgoing is true; remove them from spec.outgoing, or set useSameSettingsForOutgoing: false to give outgoing its own`,
    fieldPath: '.outgoing',
  },
  ...insecureAuthRules('incoming'),
  ...insecureAuthRules('outgoing'),
];

const rollout = obj(
  'How a change to this profile reaches its mailboxes: in batches, queue mailboxes first, each batch tested before it switches. ' +
    'Mailboxes whose test fails keep running on the last revision that passed.',
  {
    batchSize: int('Mailboxes moved to a new revision per batch (queue mailboxes first, then users, each by name).', {
      minimum: 1,
      maximum: 10000,
      default: 50,
    }),
    maxConcurrentTests: int(
      "Connection tests of this profile's mailboxes running at once: rollouts, Test and Enable of new mailboxes and test requests alike.",
      { minimum: 1, maximum: 300, default: 10 },
    ),
    interval: duration(
      'Pause between batches: the next batch starts this long after every mailbox of the previous one has a test result.',
      { default: '30s' },
    ),
    failureThreshold: int('Percentage of failed tests in a batch at which the rollout pauses (Dynamics alerts at 50%).', {
      minimum: 1,
      maximum: 100,
      default: 50,
    }),
    paused: bool('Pause the rollout by hand: no further batch starts until this is false again (tests already admitted finish).', {
      default: false,
    }),
  },
);

const countsSchema = obj('Mailbox counts.', {
  total: int('Mailboxes that reference this object.'),
  enabled: int('Mailboxes that are processing mail.'),
  failing: int('Mailboxes with a failed direction.'),
});

const profileCountsSchema = obj('Mailbox counts, including the progress of the rollout of the current revision.', {
  ...countsSchema.properties,
  updated: int('Mailboxes running on the current revision.'),
  tested: int('Mailboxes whose last test ran against the current revision (passed or failed).'),
  failed: int('Mailboxes whose test of the current revision failed: they keep running on their last-known-good revision.'),
  pending: int('Mailboxes still to move to the current revision: waiting for their batch or being tested.'),
});

const rolloutStatus = obj(
  'Progress of the rollout of the current revision. Mailboxes are taken in a fixed order (queues before users, then by name); ' +
    'a mailbox may test the revision once the rollout has admitted it (its "Kind/name" sorts at or before admittedThrough).',
  {
    revision: str('The revision being rolled out.', { maxLength: 64 }),
    batch: int('Batches admitted so far (1 is the first).', { minimum: 0 }),
    batchSize: int('Mailboxes admitted in the current batch.', { minimum: 0 }),
    batchAfter: str('Exclusive lower bound of the current batch in the rollout order ("Kind/name"); empty for the first batch.', {
      maxLength: 300,
    }),
    admittedThrough: str('Last mailbox admitted so far in the rollout order ("Kind/name", e.g. User/ann); empty before the first batch.', {
      maxLength: 300,
    }),
    batchStartTime: str('When the current batch was admitted.', { format: 'date-time' }),
    batchCompletionTime: str(
      'When every mailbox of the current batch had a test result; the next batch is admitted spec.rollout.interval later.',
      {
        format: 'date-time',
      },
    ),
    failures: arr(
      obj(
        'A mailbox whose test of this revision failed.',
        {
          mailbox: str('Name of the Mailbox.', { maxLength: 253 }),
          reason: str('Failure reason, e.g. ServerUnreachable or AuthenticationFailed.', { maxLength: 1024 }),
          message: str("What failed, as in the mailbox's UpToDate condition.", { maxLength: 4096 }),
        },
        { required: ['mailbox', 'reason'] },
      ),
      'Mailboxes whose test of this revision failed, current batch first (the first 20).',
      { maxItems: 32 },
    ),
  },
);

const revisionRecord = obj(
  'One revision of the profile still in use: the spec the sync workers run mailboxes on until they move to a newer revision.',
  {
    revision: str('The revision (hash).', { maxLength: 64 }),
    spec: {
      type: 'object',
      description: 'The profile spec of this revision (spec.rollout excluded), as it was when the revision was current.',
      'x-kubernetes-preserve-unknown-fields': true,
    },
  },
  { required: ['revision', 'spec'] },
);

export const emailServerProfileSpec: Schema = obj(
  'EmailServerProfileSpec describes how to reach one mail system.',
  {
    serverType: oneOf(
      SERVER_TYPES,
      'Kind of mail system: ExchangeServer (on-premises Exchange 2010/2013/2016/2019/SE over EWS), ExchangeOnline (Microsoft 365 over Microsoft Graph), IMAP (IMAP in, SMTP out), POP3 (POP3 in, SMTP out).',
    ),
    exchangeVersion: oneOf(
      EXCHANGE_VERSIONS,
      'ExchangeServer only: the Exchange version of the server, which decides the EWS schema version requests are written for ' +
        "(RequestServerVersion). Unset (recommended), the version is detected from the server's first answer: requests start in the " +
        'Exchange 2010 schema, which every supported server accepts, and use the detected one from then on. Exchange2010_SP2 also covers ' +
        'Exchange 2010 SP3; Exchange2019 also covers Exchange Server SE. A version newer than the server is refused by the server.',
    ),
    incoming: connection('incoming'),
    outgoing: connection('outgoing'),
    useSameSettingsForOutgoing: bool(
      `Outgoing mail signs in as incoming does: it uses spec.incoming's ${SAME_SETTINGS} (so the same Secret), and trusts ` +
        "spec.incoming's caBundle unless spec.outgoing.caBundle is set. Where to connect (server or url, port, tls, timeout) " +
        "stays outgoing's own; an Exchange profile without an outgoing server or url sends through the incoming url. " +
        `Set it to false to give spec.outgoing its own ${SAME_SETTINGS}.`,
      { default: true },
    ),
    allowInsecureAuthentication: bool(
      'Allow credentials over a connection without TLS: tls: None, an http:// url or an http:// oauth.authorityURL. ' +
        'Every method is exposed there: Basic and XOAUTH2 send the secret as it is, and an NTLM challenge-response can be cracked offline. ' +
        'Off by default; only for isolated test systems.',
      { default: false },
    ),
    maxConcurrentConnections: int(
      "Connections open at once to one server of this profile per authenticated identity (Dynamics: per mailbox with the mailbox's " +
        "credentials, per profile with the profile's): IMAP sessions (each mailbox's inbox, and its Sent Items when tracked), SMTP " +
        "connections (each send holds one; a mailbox's pool has at most this many), EWS and Graph requests, and test connections. " +
        "A connection waits for a free one. A profile's shared identity is used by every sync worker, so each holds its share: this " +
        'divided by the live workers, at least one. An IMAP service account needs one per mailbox it keeps open.',
      { minimum: 1, maximum: 300, default: 10 },
    ),
    minPollingInterval: duration(
      'Shortest time between two safety resyncs (or polls) of one mailbox: a mailbox that receives mail is looked at this often.',
      { default: '5m' },
    ),
    maxPollingInterval: duration(
      'Longest time between two safety resyncs (or polls) of one mailbox: the interval doubles after each cycle that found nothing, ' +
        'from minPollingInterval up to this (as the keep-alive of Dynamics 365 polls quiet mailboxes less), and falls back to ' +
        'minPollingInterval when mail arrives. Defaults to 15m, or to minPollingInterval when that is longer.',
    ),
    processEmailReceivedAfter: str('Only mail received after this time is processed (RFC 3339).', { format: 'date-time' }),
    moveFailedToUndeliverable: bool(
      'Move messages that cannot be tracked to an Undeliverable folder instead of leaving them in the Inbox.',
      { default: false },
    ),
    maxAttachmentSize: quantity('Largest attachment taken into the CRM; larger messages are reported and skipped.'),
    appointmentsContactsTasks: obj('Synchronization of appointments, contacts and tasks (Exchange only).', {
      enabled: bool('Allow mailboxes of this profile to synchronize appointments, contacts and tasks.', { default: false }),
    }),
    rollout,
  },
  { required: ['serverType'], rules: profileRules },
);

export const emailServerProfileStatus: Schema = obj('EmailServerProfileStatus is the observed state of the profile.', {
  observedGeneration,
  conditions: conditionsSchema,
  mailboxes: profileCountsSchema,
  revision: str(
    'The current revision: a hash of the spec (without spec.rollout) and of the versions of the Secrets and ConfigMaps it references. ' +
      'Every change to either is a new revision, rolled out to the mailboxes by spec.rollout.',
    { maxLength: 64 },
  ),
  revisions: arr(
    revisionRecord,
    'The revisions mailboxes run on (the current one and any older last-known-good ones), so that workers can run them.',
    {
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['revision'],
    },
  ),
  rollout: rolloutStatus,
  connectionTest: obj(
    "The last test of the profile itself (Dynamics' Test Connection), run on a test request (annotation mailsync.dev/test-requested-at), " +
      'with or without mailboxes: each server reached, TLS as configured, and, where the profile has its own credentials ' +
      '(credentials.source: Profile), the sign-in. The same request also tests every mailbox of the profile.',
    {
      request: str('The value of the mailsync.dev/test-requested-at annotation this test answered.', { maxLength: 64 }),
      time: str('When it ran.', { format: 'date-time' }),
      result: oneOf(['Succeeded', 'Failed'], 'Succeeded when every step of every direction passed.'),
      directions: arr(
        obj(
          'One direction: its server and how far the test got.',
          {
            direction: oneOf(['incoming', 'outgoing'], 'Which server.'),
            reason: str(
              'Succeeded, or the failure reason (see docs/observability.md), e.g. ServerUnreachable, TLSError, AuthenticationFailed.',
              { maxLength: 64 },
            ),
            message: str('What was tested and found (steps: reachability, TLS, sign-in), or what failed.', { maxLength: 4096 }),
          },
          { required: ['direction', 'reason', 'message'] },
        ),
        'Per direction.',
        { maxItems: 2 },
      ),
    },
  ),
});

const deliveryMethods = {
  incoming: oneOf(
    INCOMING_METHODS,
    'How incoming email reaches the CRM: ServerSideSync, ForwardMailbox (through a forward mailbox), or None.',
  ),
  outgoing: oneOf(OUTGOING_METHODS, 'How email written in the CRM is sent: ServerSideSync or None.'),
  appointmentsContactsTasks: oneOf(ACT_METHODS, 'Appointments, contacts and tasks: ServerSideSync (Exchange only) or None.'),
};

export const mailboxSpec: Schema = obj(
  "MailboxSpec is one CRM user's or queue's mailbox.",
  {
    emailAddress: emailAddress(
      'The mailbox address, such as ann@contoso.example (the bare address: no display name, no mailto:). Changing it withdraws any approval.',
    ),
    owner: obj(
      'The CRM user or queue this mailbox belongs to. Required, except for a forward mailbox, which has none.',
      {
        kind: oneOf(['User', 'Queue'], 'Kind of owner.'),
        name: str('Name or ID of the user or queue in the CRM.', { minLength: 1, maxLength: 256 }),
      },
      { required: ['kind', 'name'] },
    ),
    deploymentRef: localRef('The Deployment (CRM organization) this mailbox belongs to.', 'Deployment'),
    serverProfileRef: localRef(
      "The EmailServerProfile to use. Defaults to the Deployment's spec.defaults.serverProfileRef.",
      'EmailServerProfile',
    ),
    ...deliveryMethods,
    credentialsSecretRef: localRef(
      "Secret with this mailbox's credentials (username and password, or accessToken), used when the profile's credentials.source is Mailbox.",
      'Secret',
    ),
    processEmailReceivedAfter: str(
      "Only mail received after this time is processed (RFC 3339), as Dynamics' Process Email Received After. The later of this and the " +
        "profile's spec.processEmailReceivedAfter applies. When empty, the Deployment's spec.firstSync.since (if set) stands in for it. " +
        'It filters what the source reads; it does not rewind a mailbox that has synced already (status.incomingStart shows what applies).',
      { format: 'date-time' },
    ),
    forwardMailbox: bool(
      'This is a forward mailbox: a collection mailbox, dedicated to the operator, that receives mail forwarded (as an attachment) ' +
        'by the mailboxes of its Deployment whose incoming delivery method is ForwardMailbox. It has no owner: the activity of each ' +
        'forwarded message belongs to the user or queue whose mailbox forwarded it, and it sends nothing (outgoing and ACT are None).',
      { default: false },
    ),
    deleteAfterProcessing: bool(
      'Forward and queue mailboxes only (as Dynamics allows): delete each message once it reached the CRM (a forward mailbox also ' +
        'deletes messages its filtering left out). IMAP and POP3 delete it; EWS and Graph move it to Deleted Items.',
      { default: false },
    ),
    suspended: bool('Stop processing without deleting anything; tests still run on request.', { default: false }),
    takeOverAddress: bool(
      'One mailbox syncs with one organization: when another Mailbox (in any namespace the operator watches) has the same address, ' +
        'only the oldest is enabled and the others report AddressInUse naming it. Set true to take the address over from it instead ' +
        '(it stops, reporting AddressInUse), as Dynamics\' "Sync items with Exchange from this org only" does. Across namespaces the take-over ' +
        'takes effect only once an approver approved the address on this Mailbox.',
      { default: false },
    ),
    act: obj('Appointment, contact and task synchronization of this mailbox (with spec.appointmentsContactsTasks: ServerSideSync).', {
      takeOver: bool(
        'This Deployment takes the mailbox over from any other organization that synchronizes its appointments, contacts and tasks ' +
          '(Dynamics\' "Synchronize items with Exchange from this organization only"): only one organization writes to a mailbox.',
        { default: false },
      ),
      dryRun: bool('Read both sides and report what the synchronization would do (status.act.dryRun, an Event), writing nothing.', {
        default: false,
      }),
    }),
  },
  {
    required: ['emailAddress', 'deploymentRef'],
    rules: [
      {
        rule: 'self.forwardMailbox || has(self.owner)',
        message: 'the CRM user or queue this mailbox belongs to (kind and name) is required; only forward mailboxes have none',
        fieldPath: '.owner',
        reason: 'FieldValueRequired',
      },
      {
        rule: '!self.forwardMailbox || !has(self.owner)',
        message:
          'spec.owner: a forward mailbox has no owner: each forwarded message belongs to the user or queue whose mailbox forwarded it; remove spec.owner',
        fieldPath: '.owner',
      },
      {
        rule: "!self.deleteAfterProcessing || self.forwardMailbox || (has(self.owner) && self.owner.kind == 'Queue')",
        message:
          "spec.deleteAfterProcessing is only allowed for forward mailboxes (spec.forwardMailbox: true) and queue mailboxes: a user's mailbox is his own",
        fieldPath: '.deleteAfterProcessing',
      },
      {
        rule: "!self.forwardMailbox || ((!has(self.outgoing) || self.outgoing == 'None') && (!has(self.appointmentsContactsTasks) || self.appointmentsContactsTasks == 'None'))",
        message: 'a forward mailbox only receives: set spec.outgoing and spec.appointmentsContactsTasks to None or remove them',
        fieldPath: '.outgoing',
      },
      {
        rule: "!has(self.owner) || self.owner.kind != 'Queue' || !has(self.appointmentsContactsTasks) || self.appointmentsContactsTasks == 'None'",
        message: 'spec.appointmentsContactsTasks: queues do not synchronize appointments, contacts and tasks; set it to None',
        fieldPath: '.appointmentsContactsTasks',
      },
      {
        rule: "!self.forwardMailbox || !has(self.incoming) || self.incoming == 'ServerSideSync'",
        message: 'spec.incoming: a forward mailbox receives mail itself, so its incoming delivery method must be ServerSideSync',
        fieldPath: '.incoming',
      },
    ],
  },
);

const checkpoint = obj('Where incremental sync resumes: IMAP UIDVALIDITY/last UID/HIGHESTMODSEQ, or an EWS/Graph sync state.', {
  uidValidity: str('IMAP UIDVALIDITY of the synced folder.', { maxLength: 32 }),
  lastUid: int('Highest IMAP UID delivered to the CRM.', { format: 'int64' }),
  highestModseq: str('IMAP HIGHESTMODSEQ at the last sync.', { maxLength: 32 }),
  syncState: str('Opaque EWS SyncState or Graph delta link.', { maxLength: 16384 }),
  sentItems: obj("Where the sync of the mailbox's Sent Items resumes (the Deployment's trackSentItems), in the same fields.", {
    uidValidity: str('IMAP UIDVALIDITY of the Sent folder.', { maxLength: 32 }),
    lastUid: int('Highest IMAP UID of the Sent folder delivered to the CRM.', { format: 'int64' }),
    highestModseq: str('IMAP HIGHESTMODSEQ of the Sent folder at the last sync.', { maxLength: 32 }),
    syncState: str('Opaque EWS SyncState or Graph delta link of Sent Items.', { maxLength: 16384 }),
  }),
});

// What the sync worker reports per direction (the controller folds a current failure into the
// direction condition); see docs/sync.md, "Failures during sync".
const syncDirectionStatus = (direction: 'incoming' | 'outgoing' | 'appointments, contacts and tasks') =>
  obj(`The ${direction} sync loop, as its worker last reported it.`, {
    lastSyncTime: str('When the last cycle of this direction succeeded.', { format: 'date-time' }),
    nextSyncTime: str(
      'When this direction runs again by itself (the next cycle, or the next retry while it fails), as of the last write: a quiet cycle writes nothing, so in a quiet steady state pollInterval tells the cadence.',
      { format: 'date-time' },
    ),
    pollInterval: duration(
      "The time between two cycles started by the clock now (safety resyncs where notifications wake the mailbox, polls otherwise): it adapts between the profile's minPollingInterval and maxPollingInterval.",
    ),
    ...(direction === 'incoming'
      ? {
          notifications: obj('How new mail wakes this mailbox up, and why not when it cannot.', {
            method: oneOf(
              ['IMAPIdle', 'EWSStreaming', 'EWSPull', 'GraphChangeNotifications', 'Polling'],
              'What wakes the mailbox up when mail arrives; Polling: nothing does, the mailbox is polled.',
            ),
            message: str(
              'What the worker found: the subscription in use, or why push is not available and the mailbox is polled instead.',
              { maxLength: 1024 },
            ),
          }),
        }
      : {}),
    lastCycle: obj(
      'What the last successful cycle did.',
      direction === 'incoming'
        ? {
            delivered: int('Messages delivered to the CRM.'),
            duplicates: int('Messages the CRM already had (redelivered after a crash or a move).'),
            filtered: int("Messages the Deployment's incoming filtering left out."),
            failed: int('Messages that could not be processed (see recentFailures).'),
          }
        : direction === 'appointments, contacts and tasks'
          ? {
              created: int('Items created on either side.'),
              updated: int('Items updated on either side.'),
              deleted: int('Items deleted on either side.'),
              unlinked: int('Links removed (a record left the filter, an item lost its tracking category).'),
              conflicts: int('Fields changed on both sides, decided by the conflict policy.'),
              failed: int('Items that could not be synchronized (see recentFailures).'),
            }
          : {
              sent: int('Emails sent.'),
              failed: int('Emails marked failed (see recentFailures).'),
              released: int('Emails given back to Pending Send because of a failure of the server or the account.'),
              deferred: int(
                'Emails left pending for the next cycle: an attachment could not be fetched yet, or the email changed in the CRM since it was listed.',
              ),
            },
    ),
    failure: obj(
      'Set while the direction fails during sync; removed when a cycle succeeds again.',
      {
        reason: str('Failure reason (see docs/observability.md), e.g. ServerUnreachable or AuthenticationFailed.', { maxLength: 64 }),
        message: str('What failed.', { maxLength: 4096 }),
        permanent: bool(
          'Retrying cannot fix it: the direction stopped at once, with no further sign-in, until something changes (Secret, profile, Deployment, a test request).',
        ),
        exhausted: bool(
          'The transient-failure budget ran out: the direction stopped; the controller probes it (TooManyTransientFailures).',
        ),
        failures: int('Transient failures counted against the budget (spec.retryPolicy of the Deployment).', { minimum: 0 }),
        since: str('When the direction started failing.', { format: 'date-time' }),
        basis: str('What the worker ran on when it failed (configuration, last test, CRM connector); a change makes the failure stale.', {
          maxLength: 64,
        }),
      },
      { required: ['reason', 'message'] },
    ),
  });

const actCounts = (what: string) =>
  obj(`${what}: what the synchronization did, both directions together.`, {
    created: int('Created on either side.', { format: 'int64' }),
    updated: int('Updated on either side.', { format: 'int64' }),
    deleted: int('Deleted on either side.', { format: 'int64' }),
    unlinked: int('Unlinked (left the sync filter, lost the tracking category).', { format: 'int64' }),
    conflicts: int('Fields changed on both sides, decided by the conflict policy.', { format: 'int64' }),
    failed: int('Items that could not be synchronized.', { format: 'int64' }),
  });

const itemFailure = obj(
  'One message or email that could not be processed.',
  {
    time: str('When it failed.', { format: 'date-time' }),
    direction: oneOf(
      ['in', 'out', 'act'],
      'in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task.',
    ),
    reason: str(
      'Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.',
      { maxLength: 64 },
    ),
    item: str('Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.', {
      maxLength: 1024,
    }),
    message: str('What happened.', { maxLength: 2048 }),
  },
  { required: ['time', 'direction', 'reason'] },
);

export const mailboxStatus: Schema = obj('MailboxStatus is the observed state of the mailbox.', {
  observedGeneration,
  conditions: conditionsSchema,
  serverProfile: str(
    'The EmailServerProfile the mailbox runs on, after defaults (during a move to another profile, the one it moves from).',
    { maxLength: 253 },
  ),
  emailAddress: str(
    'The address the Approved/Denied conditions refer to; written by the approver. An approval binds to this exact address.',
    { maxLength: 254 },
  ),
  lastTestTime: str('When Test and Enable last ran.', { format: 'date-time' }),
  nextTestTime: str('When a test that failed transiently is retried.', { format: 'date-time' }),
  testedRevision: str('The profile revision the last test ran against.', { maxLength: 64 }),
  testedConfigHash: str(
    "Hash of everything the last test depended on: the profile revision, the delivery methods and this mailbox's own settings and Secret versions.",
    { maxLength: 64 },
  ),
  testRequest: str('The value of the mailsync.dev/test-requested-at annotation that the last test answered.', { maxLength: 64 }),
  profileTestRequest: str(
    "The value of the profile's mailsync.dev/test-requested-at annotation that the last test answered (a request to test all of the profile's mailboxes).",
    { maxLength: 64 },
  ),
  lastSyncTime: str('When the last sync cycle of any direction succeeded (per direction: status.sync).', { format: 'date-time' }),
  nextSyncTime: str(
    'When the next sync cycle of any direction is planned: the earliest of status.sync.incoming and status.sync.outgoing.',
    { format: 'date-time' },
  ),
  consecutiveTransientFailures: int('Transient failures in a row; at the limit the direction is disabled with TooManyTransientFailures.'),
  revision: str(
    'The profile revision this mailbox runs on (of the profile in serverProfile): the one its direction conditions were tested on. ' +
      'During a rollout it stays on its last-known-good revision until its test of targetRevision passes.',
    { maxLength: 64 },
  ),
  configHash: str('Hash of the configuration the mailbox runs on (as testedConfigHash, for the configuration in revision).', {
    maxLength: 64,
  }),
  rolloutBatch: int(
    'The batch of the rollout of targetRevision in which this mailbox was first tested (to count the failures of each batch).',
    { minimum: 0 },
  ),
  targetRevision: str(
    'The profile revision this mailbox is moving to (of the profile it resolves to now), while it waits for its batch or its test of it failed.',
    { maxLength: 64 },
  ),
  counts: obj('Messages processed since the mailbox was created.', {
    received: int(
      'Incoming messages delivered to the CRM, counted with the checkpoint: it equals what the CRM holds for this mailbox, across crashes.',
      { format: 'int64' },
    ),
    sent: int('Outgoing messages sent (approximate: may miss the last second before a crash).', { format: 'int64' }),
    failed: int('Messages that could not be processed (approximate, as sent).', { format: 'int64' }),
  }),
  checkpoint,
  sync: obj('Per direction: last and next cycle, what the last cycle did, and any current failure.', {
    incoming: syncDirectionStatus('incoming'),
    outgoing: syncDirectionStatus('outgoing'),
    appointmentsContactsTasks: syncDirectionStatus('appointments, contacts and tasks'),
  }),
  act: obj('Appointments, contacts and tasks synchronized since the mailbox started synchronizing them, per kind (docs/act.md).', {
    appointments: actCounts('Appointments'),
    contacts: actCounts('Contacts'),
    tasks: actCounts('Tasks'),
    dryRun: str('What the last dry run found it would do (spec.act.dryRun), in one line.', { maxLength: 1024 }),
  }),
  firstSuccessfulTestTime: str("When a test of this mailbox first passed; the Deployment's spec.firstSync.since counts back from it.", {
    format: 'date-time',
  }),
  incomingStart: obj('Where incoming sync starts: mail received before this time is never taken into the CRM.', {
    after: str(
      "The effective start (RFC 3339): the later of the profile's processEmailReceivedAfter and the mailbox's own start (its " +
        "spec.processEmailReceivedAfter, else the Deployment's firstSync.since counted back from status.firstSuccessfulTestTime)",
      {
        format: 'date-time',
      },
    ),
    from: oneOf(
      ['EmailServerProfile', 'Mailbox', 'Deployment'],
      "Which setting decided it: the profile's or the mailbox's processEmailReceivedAfter, or the Deployment's firstSync.since.",
    ),
  }),
  recentFailures: arr(
    itemFailure,
    'The most recent messages and emails that could not be processed, newest first (at most 10; `mailsync failures` lists them).',
    { maxItems: 10 },
  ),
});

const directionOf = (field: string) => oneOf(['TwoWay', 'ToExchange', 'ToCRM', 'None'], `Direction of ${field} (default TwoWay).`);
const directions = (fields: readonly string[]) =>
  obj('Per-field directions; fields Dynamics keeps two-way are not listed.', Object.fromEntries(fields.map((f) => [f, directionOf(f)])));

const actSettings = obj("How this organization's mailboxes synchronize appointments, contacts and tasks with Exchange (docs/act.md).", {
  kinds: obj('Which kinds synchronize.', {
    appointments: bool('Appointments.', { default: true }),
    contacts: bool('Contacts.', { default: true }),
    tasks: bool('Tasks (Microsoft To Do over Graph; the Tasks folder over EWS).', { default: true }),
  }),
  conflictPolicy: oneOf(
    ['CRMWins', 'ExchangeWins'],
    'Who wins when the same field changed on both sides since the last sync (other fields are merged).',
    { default: 'CRMWins' },
  ),
  trackingCategory: str(
    'The Outlook category that makes an Exchange item tracked, so it comes to the CRM. Defaults to "Tracked to <namespace>/<name>" of this Deployment.',
    { minLength: 1, maxLength: 255 },
  ),
  propagateCancellations: bool(
    'A meeting cancelled in the CRM is cancelled in Exchange (attendees get the cancellation) when the mailbox organizes it, it is in the future and has attendees ' +
      '(Dynamics: SSSPropagateAppointmentCancellationsToExchange). Otherwise it only shows as free.',
    { default: false },
  ),
  pastDays: int('Calendar window: days before today that synchronize.', { minimum: 0, maximum: 3650, default: 30 }),
  futureDays: int('Calendar window: days after today that synchronize.', { minimum: 1, maximum: 3650, default: 365 }),
  interval: duration(
    'Longest wait between two synchronization cycles of an idle mailbox; an active mailbox is synchronized every 10 seconds.',
    { default: '30s' },
  ),
  fieldDirections: obj('Which way each configurable field flows (Dynamics\' "Synchronization Settings for Outlook or Exchange").', {
    appointment: directions(CONFIGURABLE.appointment),
    contact: directions(CONFIGURABLE.contact),
    task: directions(CONFIGURABLE.task),
  }),
});

export const deploymentSpec: Schema = obj(
  'DeploymentSpec is one CRM organization: its connector and its organization-wide email settings.',
  {
    crm: obj(
      'The CRM connector.',
      {
        type: oneOf(['Webhook', 'Dynamics365'], 'Webhook: the documented HTTP+JSON contract. Dynamics365: the Dataverse Web API.'),
        url: webUrl(
          'Webhook base URL, or the Dynamics 365 organization URL (https://org.crm.dynamics.com). Must be https:// unless the host is ' +
            'localhost, 127.0.0.1 or [::1] (a CRM adapter in the same pod: the traffic never leaves it) or allowInsecureAuthentication is true.',
          'https://org.crm.dynamics.com',
          'spec.crm.allowInsecureAuthentication',
        ),
        credentialsSecretRef: localRef(
          'Secret with the connector credentials: token and signingKey (Webhook) or clientSecret (Dynamics365).',
          'Secret',
        ),
        oauth: oauthSettings('spec.crm.allowInsecureAuthentication', 'spec.crm.credentialsSecretRef'),
        allowInsecureAuthentication: bool(
          'Allow an http:// url or oauth.authorityURL on a host other than localhost, 127.0.0.1 or [::1]: the bearer token or client secret ' +
            'and every message would cross the network in cleartext. Off by default; only for isolated test systems.',
          { default: false },
        ),
        caBundle,
        timeout: duration('Per-request timeout.', { default: '30s' }),
        dynamics: obj("Dynamics 365 only: how the operator shares the organization with Dynamics' own email processing (docs/crm.md).", {
          handOver: obj(
            "Addresses whose email processing the operator takes over from Dynamics' server-side synchronization or Email Router. A mailbox whose Dataverse " +
              'mailbox row Dynamics still processes (delivery method Server-Side Synchronization or Email Router, or Forward Mailbox, and enabled) is not enabled ' +
              '(reason ProcessedByDynamics) unless it is handed over here: then the operator sets those delivery methods to None in Dataverse, so Dynamics stops, ' +
              'records a HandedOverFromDynamics Event, and enables the mailbox.',
            {
              allMailboxes: bool('Hand over every mailbox of this Deployment.', { default: false }),
              addresses: arr(
                emailAddress('A mailbox address, such as ann@contoso.example.'),
                'Hand over the mailboxes with these addresses (at most 1,000; use allMailboxes for more).',
                { maxItems: 1000 },
              ),
            },
          ),
          statusMirror: bool(
            "Write each mailbox's Test and Enable results and sync state into its Dataverse mailbox row (Incoming/Outgoing Email Status, Mailbox Test Completed On, " +
              "Last Successful Sync Time), so Dynamics' Mailboxes view shows what the operator does.",
            { default: false },
          ),
          approvalSource: oneOf(
            ['Kubernetes', 'DynamicsOrKubernetes'],
            'Where approval of mailbox addresses comes from. Kubernetes: the approve verb, the approved-address annotation and autoApproveDomains. DynamicsOrKubernetes: also Dynamics\' own "Approve Email" ' +
              "(the Dataverse mailbox row's Email Address Status is Approved); the operator then records Approved with reason ApprovedInDynamics. Setting it needs the approve verb.",
            { default: 'Kubernetes' },
          ),
        }),
      },
      {
        required: ['type', 'url'],
        rules: [
          {
            rule: "self.type == 'Dynamics365' || !has(self.dynamics)",
            message: 'spec.crm.dynamics applies to Dynamics365 only: remove it, or set spec.crm.type: Dynamics365',
            fieldPath: '.dynamics',
          },
          {
            rule: "self.type != 'Dynamics365' || has(self.oauth)",
            message: 'spec.crm.oauth (tenantId, clientId) is required for Dynamics365',
            fieldPath: '.oauth',
            reason: 'FieldValueRequired',
          },
          {
            rule: "self.type != 'Dynamics365' || has(self.credentialsSecretRef) || (has(self.oauth) && has(self.oauth.serviceAccountName))",
            message:
              'spec.crm.credentialsSecretRef is required for Dynamics365 (key clientSecret, or tls.crt and tls.key), unless spec.crm.oauth.serviceAccountName uses workload identity',
            fieldPath: '.credentialsSecretRef',
            reason: 'FieldValueRequired',
          },
          {
            rule: `!self.url.startsWith('http://') || self.allowInsecureAuthentication || ${loopbackUrl('self.url')}`,
            message:
              'spec.crm.url uses http:// on a host other than localhost, 127.0.0.1 or [::1], which would send the CRM credentials and every message in cleartext; ' +
              'use https://, or set spec.crm.allowInsecureAuthentication: true to accept the risk',
            fieldPath: '.url',
          },
          {
            rule: `!has(self.oauth) || !has(self.oauth.authorityURL) || !self.oauth.authorityURL.startsWith('http://') || self.allowInsecureAuthentication || ${loopbackUrl('self.oauth.authorityURL')}`,
            message:
              'spec.crm.oauth.authorityURL uses http:// on a host other than localhost, 127.0.0.1 or [::1], which would send the client secret in cleartext; ' +
              'use https://, or set spec.crm.allowInsecureAuthentication: true to accept the risk',
            fieldPath: '.oauth.authorityURL',
          },
          {
            rule: `!has(self.oauth) || !has(self.oauth.tokenURL) || !self.oauth.tokenURL.startsWith('http://') || self.allowInsecureAuthentication || ${loopbackUrl('self.oauth.tokenURL')}`,
            message:
              'spec.crm.oauth.tokenURL uses http:// on a host other than localhost, 127.0.0.1 or [::1], which would send the client secret in cleartext; ' +
              'use https://, or set spec.crm.allowInsecureAuthentication: true to accept the risk',
            fieldPath: '.oauth.tokenURL',
          },
        ],
      },
    ),
    defaults: obj('Defaults for mailboxes that leave these fields empty.', {
      serverProfileRef: localRef('Default EmailServerProfile.', 'EmailServerProfile'),
      incoming: { ...deliveryMethods.incoming, default: 'ServerSideSync' },
      outgoing: { ...deliveryMethods.outgoing, default: 'ServerSideSync' },
      appointmentsContactsTasks: { ...deliveryMethods.appointmentsContactsTasks, default: 'None' },
    }),
    appointmentsContactsTasks: actSettings,
    requireApprovedUsers: bool("Process a user's mailbox only after its address is approved.", { default: true }),
    requireApprovedQueues: bool("Process a queue's mailbox only after its address is approved.", { default: true }),
    autoApproveDomains: arr(
      domainName(
        'A domain such as contoso.example: exactly that domain, without @; subdomains are separate entries and wildcards are not supported.',
      ),
      'Addresses in these domains are approved by the operator (needs the approve verb).',
      {
        maxItems: 64,
      },
    ),
    incomingFiltering: obj(
      "Which incoming messages become CRM activities, per owner kind. CRMDecides (Dynamics365 only) asks Dynamics with CheckIncomingEmail, so each user's and queue's own " +
        'incoming email filtering in Dynamics applies.',
      {
        users: oneOf(FILTERING_METHODS, 'Filtering for user mailboxes.', { default: 'FromCRMRecords' }),
        queues: oneOf(FILTERING_METHODS, 'Filtering for queue mailboxes.', { default: 'All' }),
      },
    ),
    trackingToken: obj('The tracking token added to subjects of CRM email, e.g. CRM:0001001.', {
      enabled: bool('Add and recognise tracking tokens.', { default: true }),
      prefix: str('Token prefix: letters and digits, such as CRM.', {
        minLength: 1,
        maxLength: 20,
        default: 'CRM',
        'x-mailsync-checks': [{ require: '^[A-Za-z0-9]+$', message: 'must be letters and digits only, such as CRM' }],
      }),
      deploymentBase: int('Base number that keeps tokens of several deployments apart.', { minimum: 0, maximum: 2147483647, default: 0 }),
      userDigits: int('Digits for the user number.', { minimum: 1, maximum: 10, default: 3 }),
      counterDigits: int('Digits for the per-user counter.', { minimum: 1, maximum: 9, default: 3 }),
    }),
    correlation: obj(
      'Email correlation: which CRM email an incoming message answers, in the order Dynamics uses: In-Reply-To, then the tracking ' +
        'token in the subject (resolved by the CRM), then References, then the Thread-Index conversation (Outlook and Exchange keep it ' +
        'in replies; the operator writes one into every email it sends).',
      {
        enabled: bool('Correlate replies with CRM email by headers.', { default: true }),
      },
    ),
    internalEmail: obj("Mail between the organization's own users and queues: the addresses of this Deployment's Mailboxes.", {
      ignore: bool(
        "Do not track incoming mail whose sender is one of this Deployment's mailboxes: mail between colleagues (Dynamics: ignoreinternalemail).",
        { default: false },
      ),
      trackToQueues: bool(
        "While ignore is true, still track internal mail that a queue's mailbox receives, so a request a colleague sends to a queue is not lost " +
          '(Dynamics: DoNotIgnoreInternalEmailToQueues, on by default).',
        { default: true },
      ),
    }),
    trackSentItems: bool(
      "Also track the mail in each mailbox's Sent Items (IMAP: the folder marked \\Sent; EWS and Graph: Sent Items) with the owner's filtering " +
        'method applied to the recipients, so mail written outside the CRM becomes an activity too (Dynamics: AutoTrackSentFolderItems). ' +
        'Mail the CRM sent itself is recognised by its Message-ID and not tracked twice.',
      { default: false },
    ),
    maxAttachmentSize: quantity('Largest attachment taken into the CRM.', { default: '5Mi' }),
    firstSync: obj(
      'Where the incoming sync of a new mailbox starts, for mailboxes that set no spec.processEmailReceivedAfter of their own.',
      {
        since: duration(
          "Take mail received up to this long before the mailbox's first successful test (status.firstSuccessfulTestTime), e.g. 24h as " +
            "Microsoft's migration guidance advises; older mail is left alone. Unset: the whole Inbox, unless the profile sets processEmailReceivedAfter.",
        ),
      },
    ),
    retryPolicy: obj(
      "How transient failures (unreachable servers, timeouts, throttling, 5xx) of this organization's mailboxes are retried, " +
        'in Test and Enable and during sync alike (Dynamics: MaxMailboxTransientFailures and MailboxBackoffOnTransientError).',
      {
        maxTransientFailures: int(
          'Transient failures in a row, counted on the back-off schedule, after which a direction is disabled with TooManyTransientFailures (Dynamics: MaxMailboxTransientFailures).',
          { minimum: 1, maximum: 1000, default: 10 },
        ),
        backoff: duration(
          'Wait after the first transient failure; it doubles with each further one, up to maxBackoff (Dynamics: MailboxBackoffOnTransientError).',
          { default: '30s' },
        ),
        maxBackoff: duration('Longest wait between two transient failures counted against the budget.', { default: '30m' }),
        probeInterval: duration(
          'After the budget ran out, a disabled direction is tested again after this long, then at doubling intervals up to maxProbeInterval, and re-enabled by itself when a test passes.',
          { default: '30m' },
        ),
        maxProbeInterval: duration('Longest wait between two tests of a direction disabled by TooManyTransientFailures.', {
          default: '1h',
        }),
      },
    ),
  },
  {
    required: ['crm'],
    rules: [
      {
        rule: "self.crm.type == 'Dynamics365' || !has(self.incomingFiltering) || ((!has(self.incomingFiltering.users) || self.incomingFiltering.users != 'CRMDecides') && (!has(self.incomingFiltering.queues) || self.incomingFiltering.queues != 'CRMDecides'))",
        message:
          'incomingFiltering CRMDecides asks Dynamics 365 (CheckIncomingEmail): it needs spec.crm.type Dynamics365; choose another filtering method for a Webhook CRM',
        fieldPath: '.incomingFiltering',
      },
    ],
  },
);

export const deploymentStatus: Schema = obj('DeploymentStatus is the observed state of the CRM organization.', {
  observedGeneration,
  conditions: conditionsSchema,
  mailboxes: countsSchema,
});

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: Schema;
  status: Schema;
  description: string;
  /** `kubectl get` columns; `description` says what a column means (docs/status.md is rendered from it). */
  printerColumns: { name: string; type: string; jsonPath: string; priority?: number; description: string }[];
}

const cond = (t: string, field: 'status' | 'reason' | 'message' = 'status') => `.status.conditions[?(@.type=="${t}")].${field}`;

export const KINDS: KindInfo[] = [
  {
    kind: 'EmailServerProfile',
    plural: 'emailserverprofiles',
    singular: 'emailserverprofile',
    shortNames: ['esp', 'profile'],
    spec: emailServerProfileSpec,
    status: emailServerProfileStatus,
    description: 'EmailServerProfile describes how to reach one mail system (Exchange, Microsoft 365, IMAP or POP3 with SMTP).',
    printerColumns: [
      {
        name: 'Type',
        type: 'string',
        jsonPath: '.spec.serverType',
        description: 'spec.serverType: ExchangeServer (EWS), ExchangeOnline (Microsoft Graph), IMAP or POP3 (each with SMTP).',
      },
      {
        name: 'Server',
        type: 'string',
        jsonPath: '.spec.incoming.server',
        description: 'spec.incoming.server; empty for Exchange profiles, which use a URL.',
      },
      {
        name: 'Mailboxes',
        type: 'integer',
        jsonPath: '.status.mailboxes.total',
        description: "Mailboxes that use this profile, directly or through their Deployment's default.",
      },
      {
        name: 'Updated',
        type: 'integer',
        jsonPath: '.status.mailboxes.updated',
        description: 'Mailboxes running on the current revision.',
      },
      {
        name: 'Pending',
        type: 'integer',
        jsonPath: '.status.mailboxes.pending',
        description: 'Mailboxes still to move to the current revision: waiting for their batch, or being tested.',
      },
      {
        name: 'Failed',
        type: 'integer',
        jsonPath: '.status.mailboxes.failed',
        description: 'Mailboxes whose test of the current revision failed: they keep processing mail on their last-known-good revision.',
      },
      {
        name: 'Tested',
        type: 'integer',
        jsonPath: '.status.mailboxes.tested',
        priority: 1,
        description: 'Mailboxes whose last test ran against the current revision, passed or failed.',
      },
      {
        name: 'Failing',
        type: 'integer',
        jsonPath: '.status.mailboxes.failing',
        priority: 1,
        description:
          'Mailboxes with a direction that fails now (IncomingEmailReady, OutgoingEmailReady or AppointmentsContactsTasksReady False with a failure reason, from a test or from sync). ' +
          'A mailbox held on its last-known-good revision whose directions work is counted in Failed, not here.',
      },
      {
        name: 'Revision',
        type: 'string',
        jsonPath: '.status.revision',
        priority: 1,
        description: 'The current revision: a hash of the spec (but spec.rollout) and the versions of the Secrets and ConfigMaps it names.',
      },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: cond('Ready'),
        description:
          'Condition Ready (kstatus): True when every mailbox runs the current revision and fewer than spec.rollout.failureThreshold percent of them are Failing ' +
          '(not counting mailboxes whose own Secret is missing or incomplete). ' +
          'False while a rollout is under way (RolloutInProgress), paused (RolloutPaused) or left mailboxes on their last-known-good revision (RolloutIncomplete), ' +
          'when a Secret it names is missing (SecretNotFound), or when too many mailboxes fail (MailboxesFailing).',
      },
      {
        name: 'Status',
        type: 'string',
        jsonPath: cond('Ready', 'message'),
        priority: 1,
        description: "Ready's message: where the rollout stands and, when stuck, why and what to do.",
      },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' },
    ],
  },
  {
    kind: 'Mailbox',
    plural: 'mailboxes',
    singular: 'mailbox',
    shortNames: ['mbx'],
    spec: mailboxSpec,
    status: mailboxStatus,
    description: "Mailbox connects one CRM user's or queue's mailbox to its mail server.",
    printerColumns: [
      { name: 'Address', type: 'string', jsonPath: '.spec.emailAddress', description: 'spec.emailAddress.' },
      { name: 'Owner', type: 'string', jsonPath: '.spec.owner.name', description: 'spec.owner.name: the CRM user or queue.' },
      {
        name: 'Incoming',
        type: 'string',
        jsonPath: cond('IncomingEmailReady', 'reason'),
        description:
          'Reason of IncomingEmailReady, for the configuration the mailbox runs: Succeeded, NotRun (delivery method None), or why it fails (its test, then its sync).',
      },
      {
        name: 'Outgoing',
        type: 'string',
        jsonPath: cond('OutgoingEmailReady', 'reason'),
        description: 'Reason of OutgoingEmailReady, as Incoming.',
      },
      {
        name: 'ACT',
        type: 'string',
        jsonPath: cond('AppointmentsContactsTasksReady', 'reason'),
        description: 'Reason of AppointmentsContactsTasksReady (appointments, contacts and tasks; Exchange only), as Incoming.',
      },
      {
        name: 'Approved',
        type: 'string',
        jsonPath: cond('Approved'),
        description:
          'Condition Approved: True when an approver approved the address in status.emailAddress; empty otherwise (also when approval is not required).',
      },
      {
        name: 'Enabled',
        type: 'string',
        jsonPath: cond('Enabled', 'reason'),
        description:
          'Reason of Enabled: whether mail is processed, and on what. Enabled (every requested direction), PartiallyEnabled (some), RunningLastKnownGood ' +
          '(processing on its last-known-good revision: the test of the new one failed, see Rollout), or why nothing is processed ' +
          '(AwaitingApproval, Denied, Suspended, TestPending, NothingToSync, or a failure reason).',
      },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: cond('Ready'),
        description:
          'Condition Ready (kstatus): True when every requested direction processes on the configuration the mailbox should run, with no failure outstanding ' +
          "(one waiting for its rollout batch counts: its profile's Ready covers the rollout). False otherwise, with the reason: a failing direction, " +
          'approval, suspension, or the failed test of a new revision while mail still flows on the last-known-good one (Enabled RunningLastKnownGood).',
      },
      {
        name: 'Revision',
        type: 'string',
        jsonPath: '.status.revision',
        priority: 1,
        description: 'The revision of its profile the mailbox runs on (status.revision).',
      },
      {
        name: 'Since',
        type: 'string',
        jsonPath: '.status.incomingStart.after',
        priority: 1,
        description: 'Mail received before this is not taken into the CRM (status.incomingStart.after).',
      },
      {
        name: 'Rollout',
        type: 'string',
        jsonPath: cond('UpToDate', 'reason'),
        priority: 1,
        description:
          "Reason of UpToDate: UpToDate (runs the profile's current revision), WaitingForBatch, or why its test of the new revision failed.",
      },
      { name: 'Status', type: 'string', jsonPath: cond('Ready', 'message'), priority: 1, description: "Ready's message." },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' },
    ],
  },
  {
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    shortNames: ['msd', 'crmdeployment'],
    spec: deploymentSpec,
    status: deploymentStatus,
    description:
      'Deployment is one CRM organization (the Email Router\'s "deployment"): its connector and organization email settings. ' +
      'Its name is shared with apps/v1 Deployments: use deployments.mailsync.dev or the short name msd.',
    printerColumns: [
      { name: 'CRM', type: 'string', jsonPath: '.spec.crm.type', description: 'spec.crm.type: Webhook or Dynamics365.' },
      { name: 'URL', type: 'string', jsonPath: '.spec.crm.url', description: 'spec.crm.url.' },
      {
        name: 'Mailboxes',
        type: 'integer',
        jsonPath: '.status.mailboxes.total',
        description: 'Mailboxes of this Deployment (spec.deploymentRef).',
      },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: cond('Ready'),
        description:
          'Condition Ready (kstatus): True when the CRM connector is reachable and authenticated (Connected), or valid where this operator does not test connectors (Valid); ' +
          'False with the CRM failure (CRMUnreachable, CRMAuthenticationFailed, ...) otherwise.',
      },
      { name: 'Status', type: 'string', jsonPath: cond('Ready', 'message'), priority: 1, description: "Ready's message." },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' },
    ],
  },
];
