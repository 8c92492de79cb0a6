// What the importer reads from a Dataverse environment: the organization's email settings, every
// email server profile, every mailbox row (users', queues' and forward mailboxes), users' and
// queues' incoming filtering. Columns and option values follow Microsoft's table references
// (emailserverprofile, mailbox, organization, usersettings, queue; see docs/migration.md). The
// reader goes through the Dataverse client the Dynamics 365 connector uses (src/crm/), with the
// same client-credentials sign-in, and asks only for the columns it maps or reports.

import { DataverseClient } from '../crm/dynamics-client.js';
import { dataverseUrls } from '../crm/dynamics.js';
import { recordId } from '../crm/dynamics-odata.js';
import { ClientCredentialsTokenProvider } from '../mail/oauth.js';
import { registerSecret } from '../util/redact.js';

/** Option sets, value -> meaning, as the table references list them. */
export const SERVER_TYPE = { ExchangeServer: 0, POP3SMTP: 1, ExchangeHybrid: 2, ExchangeOnlineHybrid: 3, IMAPSMTP: 4 } as const;
export const AUTH_PROTOCOL = { AutoDetect: 0, Negotiate: 1, NTLM: 2, Basic: 3, OAuth: 4 } as const;
export const CREDENTIAL_RETRIEVAL = {
  UserOrQueue: 0,
  EmailServerProfile: 1,
  ServerToServer: 2,
  WindowsIntegrated: 3,
  Anonymous: 4,
  GmailOAuth: 5,
  ExchangeHybridModernAuth: 6,
  EntraOAuth: 7,
} as const;
export const INCOMING_DELIVERY = { None: 0, Outlook: 1, ServerSideSync: 2, ForwardMailbox: 3 } as const;
export const OUTGOING_DELIVERY = { None: 0, Outlook: 1, ServerSideSync: 2 } as const;
export const ACT_DELIVERY = { Outlook: 0, ServerSideSync: 1, None: 2 } as const;
export const ADDRESS_STATUS = { Empty: 0, Approved: 1, PendingApproval: 2, Rejected: 3 } as const;
export const EXCHANGE_VERSION = {
  Exchange2007: 0,
  Exchange2007SP1: 1,
  Exchange2010: 2,
  Exchange2010SP1: 3,
  Exchange2010SP2: 4,
  Exchange2013: 5,
} as const;
export const SERVER_AUTHORITY = { Public: 0, USGovernment: 1, China: 2, Automatic: 3 } as const;
export const FILTERING = { All: 0, RepliesToCRMEmail: 1, FromCRMRecords: 2, FromEmailEnabledRecords: 3, None: 4 } as const;
export const EMAIL_CONNECTION_CHANNEL = { ServerSideSync: 0, EmailRouter: 1 } as const;

/** The name of an option value, e.g. "Negotiate (1)", for the report. */
export function optionName(set: Record<string, number>, value: number | null | undefined): string {
  const name = Object.entries(set).find(([, v]) => v === value)?.[0];
  return name ? `${name} (${value})` : String(value);
}

type Maybe<T> = T | null | undefined;

export interface OrganizationRow {
  organizationid: string;
  name: string;
  emailconnectionchannel?: Maybe<number>;
  _defaultemailserverprofileid_value?: Maybe<string>;
  defaultemailsettings?: Maybe<string>;
  requireapprovalforuseremail?: Maybe<boolean>;
  requireapprovalforqueueemail?: Maybe<boolean>;
  emailcorrelationenabled?: Maybe<boolean>;
  trackingprefix?: Maybe<string>;
  trackingtokenidbase?: Maybe<number>;
  trackingtokeniddigits?: Maybe<number>;
  maximumtrackingnumber?: Maybe<number>;
  maxuploadfilesize?: Maybe<number>;
  ignoreinternalemail?: Maybe<boolean>;
  enablesmartmatching?: Maybe<boolean>;
  isfolderbasedtrackingenabled?: Maybe<boolean>;
  notifymailboxownerofemailserverlevelalerts?: Maybe<boolean>;
}

export interface ProfileRow {
  emailserverprofileid: string;
  name: string;
  statecode?: Maybe<number>;
  servertype?: Maybe<number>;
  exchangeversion?: Maybe<number>;
  useautodiscover?: Maybe<boolean>;
  incomingserverlocation?: Maybe<string>;
  outgoingserverlocation?: Maybe<string>;
  incomingportnumber?: Maybe<number>;
  outgoingportnumber?: Maybe<number>;
  incomingusessl?: Maybe<boolean>;
  outgoingusessl?: Maybe<boolean>;
  incomingauthenticationprotocol?: Maybe<number>;
  outgoingauthenticationprotocol?: Maybe<number>;
  incomingcredentialretrieval?: Maybe<number>;
  outgoingcredentialretrieval?: Maybe<number>;
  incomingusername?: Maybe<string>;
  outgoingusername?: Maybe<string>;
  incominguseimpersonation?: Maybe<boolean>;
  outgoinguseimpersonation?: Maybe<boolean>;
  outgoingautograntdelegateaccess?: Maybe<boolean>;
  usesamesettingsforoutgoingconnections?: Maybe<boolean>;
  maxconcurrentconnections?: Maybe<number>;
  minpollingintervalinminutes?: Maybe<number>;
  moveundeliveredemails?: Maybe<boolean>;
  processemailsreceivedafter?: Maybe<string>;
  sendemailalert?: Maybe<boolean>;
  timeoutmailboxconnection?: Maybe<boolean>;
  timeoutmailboxconnectionafteramount?: Maybe<number>;
  exchangeonlinetenantid?: Maybe<string>;
  usedefaulttenantid?: Maybe<boolean>;
  oauthclientid?: Maybe<string>;
  serverauthority?: Maybe<number>;
  encodingcodepage?: Maybe<string>;
  acsenabledforoutgoingemail?: Maybe<boolean>;
  _keyvaultreferenceid_value?: Maybe<string>;
  _managedidentityid_value?: Maybe<string>;
}

export interface MailboxRow {
  mailboxid: string;
  name?: Maybe<string>;
  emailaddress?: Maybe<string>;
  statecode?: Maybe<number>;
  isforwardmailbox?: Maybe<boolean>;
  _emailserverprofile_value?: Maybe<string>;
  _regardingobjectid_value?: Maybe<string>;
  /** 'systemuser' or 'queue' (the lookup's logical name annotation). */
  '_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname'?: Maybe<string>;
  '_regardingobjectid_value@OData.Community.Display.V1.FormattedValue'?: Maybe<string>;
  _ownerid_value?: Maybe<string>;
  '_ownerid_value@OData.Community.Display.V1.FormattedValue'?: Maybe<string>;
  incomingemaildeliverymethod?: Maybe<number>;
  outgoingemaildeliverymethod?: Maybe<number>;
  actdeliverymethod?: Maybe<number>;
  emailrouteraccessapproval?: Maybe<number>;
  allowemailconnectortousecredentials?: Maybe<boolean>;
  username?: Maybe<string>;
  processanddeleteemails?: Maybe<boolean>;
  processemailreceivedafter?: Maybe<string>;
  enabledforincomingemail?: Maybe<boolean>;
  enabledforoutgoingemail?: Maybe<boolean>;
  enabledforact?: Maybe<boolean>;
}

export interface FilteringRow {
  /** systemuserid (usersettings) or queueid (queue). */
  id: string;
  incomingemailfilteringmethod?: Maybe<number>;
}

/** Everything the importer maps, as Dataverse returned it. */
export interface DataverseSnapshot {
  /** The Web API base the rows came from (for the report and the Deployment's spec.crm.url). */
  organizationUrl: string;
  organization: OrganizationRow;
  profiles: ProfileRow[];
  mailboxes: MailboxRow[];
  userFiltering: FilteringRow[];
  queueFiltering: FilteringRow[];
}

/** The mailbox columns the cut-over reads and changes. */
export const DELIVERY_COLUMNS = ['incomingemaildeliverymethod', 'outgoingemaildeliverymethod', 'actdeliverymethod'] as const;

const COLUMNS = {
  organization: [
    'organizationid',
    'name',
    'emailconnectionchannel',
    '_defaultemailserverprofileid_value',
    'defaultemailsettings',
    'requireapprovalforuseremail',
    'requireapprovalforqueueemail',
    'emailcorrelationenabled',
    'trackingprefix',
    'trackingtokenidbase',
    'trackingtokeniddigits',
    'maximumtrackingnumber',
    'maxuploadfilesize',
    'ignoreinternalemail',
    'enablesmartmatching',
    'isfolderbasedtrackingenabled',
    'notifymailboxownerofemailserverlevelalerts',
  ],
  profile: [
    'emailserverprofileid',
    'name',
    'statecode',
    'servertype',
    'exchangeversion',
    'useautodiscover',
    'incomingserverlocation',
    'outgoingserverlocation',
    'incomingportnumber',
    'outgoingportnumber',
    'incomingusessl',
    'outgoingusessl',
    'incomingauthenticationprotocol',
    'outgoingauthenticationprotocol',
    'incomingcredentialretrieval',
    'outgoingcredentialretrieval',
    'incomingusername',
    'outgoingusername',
    'incominguseimpersonation',
    'outgoinguseimpersonation',
    'outgoingautograntdelegateaccess',
    'usesamesettingsforoutgoingconnections',
    'maxconcurrentconnections',
    'minpollingintervalinminutes',
    'moveundeliveredemails',
    'processemailsreceivedafter',
    'sendemailalert',
    'timeoutmailboxconnection',
    'timeoutmailboxconnectionafteramount',
    'exchangeonlinetenantid',
    'usedefaulttenantid',
    'oauthclientid',
    'serverauthority',
    'encodingcodepage',
    'acsenabledforoutgoingemail',
    '_keyvaultreferenceid_value',
    '_managedidentityid_value',
  ],
  mailbox: [
    'mailboxid',
    'name',
    'emailaddress',
    'statecode',
    'isforwardmailbox',
    '_emailserverprofile_value',
    '_regardingobjectid_value',
    '_ownerid_value',
    'incomingemaildeliverymethod',
    'outgoingemaildeliverymethod',
    'actdeliverymethod',
    'emailrouteraccessapproval',
    'allowemailconnectortousecredentials',
    'username',
    'processanddeleteemails',
    'processemailreceivedafter',
    'enabledforincomingemail',
    'enabledforoutgoingemail',
    'enabledforact',
  ],
};

/** Lookup display names and the logical name of a polymorphic lookup's target. */
const ANNOTATIONS = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"';
const MAX_ROWS = 1_000_000;

export interface DataverseConnection {
  /** Organization URL, e.g. https://contoso.crm.dynamics.com (or its /api/data/v9.x URL). */
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  authorityUrl?: string;
  /** Extra trusted CA (PEM). */
  ca?: string;
  timeoutMs?: number;
}

/** A Dataverse client signed in with client credentials, as the Dynamics 365 connector signs in. */
export function connectDataverse(c: DataverseConnection): DataverseClient {
  const { apiUrl, origin } = dataverseUrls(c.url);
  registerSecret(c.clientSecret);
  const timeoutMs = c.timeoutMs ?? 30_000;
  const tokens = new ClientCredentialsTokenProvider({
    tenantId: c.tenantId,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    scope: `${origin}/.default`,
    authorityUrl: c.authorityUrl,
    ca: c.ca,
    timeoutMs,
  });
  return new DataverseClient({
    apiUrl,
    tokens,
    timeoutMs,
    ca: c.ca,
    secrets: [c.clientSecret],
    pageSize: 5000,
    authHint:
      `check --tenant-id, --client-id "${c.clientId}" and the client secret, and that the app is an application user of this ` +
      'environment with a security role that can read organization settings, email server profiles, mailboxes, user settings and queues ' +
      '(and, for --cutover and --rollback, write mailboxes)',
  });
}

/** Reads the organization's email configuration. */
export async function readSnapshot(client: DataverseClient): Promise<DataverseSnapshot> {
  const select = (columns: string[]) => `$select=${columns.join(',')}`;
  const [organizations, profiles, mailboxes, users, queues] = await Promise.all([
    client.list<OrganizationRow>(`organizations?${select(COLUMNS.organization)}`, 2),
    client.list<ProfileRow>(`emailserverprofiles?${select(COLUMNS.profile)}`, MAX_ROWS),
    client.list<MailboxRow>(`mailboxes?${select(COLUMNS.mailbox)}`, MAX_ROWS, [ANNOTATIONS]),
    client.list<{ systemuserid: string; incomingemailfilteringmethod?: Maybe<number> }>(
      'usersettingscollection?$select=systemuserid,incomingemailfilteringmethod',
      MAX_ROWS,
    ),
    client.list<{ queueid: string; incomingemailfilteringmethod?: Maybe<number> }>(
      'queues?$select=queueid,incomingemailfilteringmethod',
      MAX_ROWS,
    ),
  ]);
  if (organizations.length !== 1)
    throw new Error(`Dataverse ${client.apiUrl}: expected one organization row, found ${organizations.length}`);
  return {
    organizationUrl: client.apiUrl,
    organization: organizations[0],
    profiles,
    mailboxes,
    userFiltering: users.map((u) => ({ id: u.systemuserid, incomingemailfilteringmethod: u.incomingemailfilteringmethod })),
    queueFiltering: queues.map((q) => ({ id: q.queueid, incomingemailfilteringmethod: q.incomingemailfilteringmethod })),
  };
}

export type DeliveryColumns = Record<(typeof DELIVERY_COLUMNS)[number], number | null>;

/** The delivery-method columns of one mailbox row as they are now. */
export async function readDeliveryColumns(client: DataverseClient, mailboxId: string): Promise<DeliveryColumns> {
  const row = await client.get<Partial<DeliveryColumns>>(
    `mailboxes(${recordId(mailboxId, 'mailbox id')})?$select=${DELIVERY_COLUMNS.join(',')}`,
  );
  return {
    incomingemaildeliverymethod: row.incomingemaildeliverymethod ?? null,
    outgoingemaildeliverymethod: row.outgoingemaildeliverymethod ?? null,
    actdeliverymethod: row.actdeliverymethod ?? null,
  };
}
