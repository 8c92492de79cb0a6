// Organizations to import, seeded into a fake Dataverse environment (FakeDynamics for users and
// queues, FakeDataverseConfig for the email configuration tables).
//
// contoso: what a real organization looks like on server-side synchronization: the default
// "Microsoft Exchange Online" profile (Server-to-Server), an on-premises Exchange 2019 profile with
// a service account using impersonation, and an IMAP/SMTP profile with each user's credentials;
// 300 mailboxes (20 queues, 1 forward mailbox, 279 users) with approved, pending and rejected
// addresses, some Outlook delivery, appointment sync, users fed by the forward mailbox; and one
// profile setting the operator cannot honour (Negotiate authentication to EWS).

import type { FakeDynamics } from './fake-crm-dynamics.js';
import type { FakeDataverseConfig } from './fake-dataverse-config.js';

const DEFAULT_EMAIL_SETTINGS =
  '<EmailSettings><IncomingEmailDeliveryMethod>2</IncomingEmailDeliveryMethod><OutgoingEmailDeliveryMethod>2</OutgoingEmailDeliveryMethod><ACTDeliveryMethod>2</ACTDeliveryMethod></EmailSettings>';

const ORGANIZATION = {
  emailconnectionchannel: 0,
  defaultemailsettings: DEFAULT_EMAIL_SETTINGS,
  requireapprovalforuseremail: true,
  requireapprovalforqueueemail: true,
  emailcorrelationenabled: true,
  trackingprefix: 'CRM',
  trackingtokenidbase: 0,
  trackingtokeniddigits: 3,
  maximumtrackingnumber: 999,
  maxuploadfilesize: 5_242_880,
  isfolderbasedtrackingenabled: false,
  enablesmartmatching: false,
};

export interface ContosoOrganization {
  profiles: { online: string; onPremises: string; imap: string };
  queues: number;
  forward: number;
  users: number;
  approval: { approved: number; pending: number; rejected: number };
}

export function seedContoso(dv: FakeDynamics, config: FakeDataverseConfig): ContosoOrganization {
  const online = config.addProfile({
    name: 'Microsoft Exchange Online',
    servertype: 0,
    useautodiscover: true,
    incomingcredentialretrieval: 2,
    outgoingcredentialretrieval: 2,
    incomingauthenticationprotocol: 0,
    usesamesettingsforoutgoingconnections: true,
    usedefaulttenantid: true,
    maxconcurrentconnections: 10,
    minpollingintervalinminutes: 0,
    timeoutmailboxconnection: true,
    timeoutmailboxconnectionafteramount: 100_000,
  });
  const onPremises = config.addProfile({
    name: 'Contoso Exchange 2019',
    servertype: 0,
    exchangeversion: 5,
    useautodiscover: false,
    incomingserverlocation: 'https://mail.contoso.example/EWS/Exchange.asmx',
    outgoingserverlocation: 'https://mail.contoso.example/EWS/Exchange.asmx',
    incomingcredentialretrieval: 1,
    outgoingcredentialretrieval: 1,
    incominguseimpersonation: true,
    outgoinguseimpersonation: true,
    // Negotiate (Kerberos): the one setting the operator cannot honour.
    incomingauthenticationprotocol: 1,
    incomingusername: 'CONTOSO\\svc-crm',
    isincomingpasswordset: true,
    usesamesettingsforoutgoingconnections: true,
    maxconcurrentconnections: 20,
    minpollingintervalinminutes: 5,
    moveundeliveredemails: true,
  });
  const imap = config.addProfile({
    name: 'Contoso IMAP',
    servertype: 4,
    incomingserverlocation: 'imap.contoso.example',
    incomingportnumber: 993,
    incomingusessl: true,
    outgoingserverlocation: 'smtp.contoso.example',
    outgoingportnumber: 587,
    outgoingusessl: true,
    incomingcredentialretrieval: 0,
    outgoingcredentialretrieval: 0,
    incomingauthenticationprotocol: 3,
    usesamesettingsforoutgoingconnections: true,
    processemailsreceivedafter: '2026-11-01T00:00:00Z',
  });
  config.setOrganization({ name: 'contoso', ...ORGANIZATION }, online);

  const approval = { approved: 0, pending: 0, rejected: 0 };
  const status = (n: 1 | 2 | 3): number => {
    if (n === 1) approval.approved++;
    else if (n === 2) approval.pending++;
    else approval.rejected++;
    return n;
  };
  for (let i = 1; i <= 20; i++) {
    const email = `queue-${String(i).padStart(2, '0')}@contoso.example`;
    const name = `Queue ${String(i).padStart(2, '0')}`;
    const profileId = i <= 10 ? online : i <= 15 ? onPremises : imap;
    config.addMailbox({
      emailaddress: email,
      regarding: { table: 'queue', id: dv.addQueue(email, name), name },
      profileId,
      outgoingemaildeliverymethod: 2,
      emailrouteraccessapproval: status(i === 20 ? 2 : 1),
      ...(profileId === imap ? { allowemailconnectortousecredentials: true, username: email } : {}),
    });
  }
  const admin = dv.addUser('crm-admin@contoso.example', 'CRM Admin');
  config.addMailbox({
    emailaddress: 'crm-forward@contoso.example',
    name: 'Forward mailbox',
    isforwardmailbox: true,
    owner: { id: admin, name: 'CRM Admin' },
    profileId: onPremises,
    incomingemaildeliverymethod: 2,
    outgoingemaildeliverymethod: 0,
    processanddeleteemails: true,
    emailrouteraccessapproval: status(1),
  });
  for (let i = 1; i <= 279; i++) {
    const email = `user${String(i).padStart(3, '0')}@contoso.example`;
    const fullname = `User ${String(i).padStart(3, '0')}`;
    const id = dv.addUser(email, fullname);
    const profileId = i <= 140 ? online : i <= 220 ? onPremises : imap;
    config.setUserFiltering(id, i <= 5 ? 0 : 2);
    config.addMailbox({
      emailaddress: email,
      regarding: { table: 'systemuser', id, name: fullname },
      profileId,
      incomingemaildeliverymethod: i >= 150 && i <= 154 ? 3 : i >= 10 && i <= 12 ? 1 : 2,
      outgoingemaildeliverymethod: i >= 10 && i <= 12 ? 1 : 2,
      actdeliverymethod: i <= 50 ? 1 : 2,
      emailrouteraccessapproval: status(i >= 260 && i <= 269 ? 2 : i >= 270 && i <= 274 ? 3 : 1),
      ...(i === 5 ? { processemailreceivedafter: '2026-11-15' } : {}),
      ...(profileId === imap ? { allowemailconnectortousecredentials: true, username: email } : {}),
    });
  }
  return { profiles: { online, onPremises, imap }, queues: 20, forward: 1, users: 279, approval };
}

/** Where the small organization's profiles point: real Dovecot, the EWS fake, Graph (patched in by the test). */
export interface WaveEndpoints {
  dovecotImaps: number;
  dovecotPop3s: number;
  ewsUrl: string;
  /** The on-premises profile's Process Email From. */
  exchangeProcessFrom: string;
}

export interface WaveMailbox {
  name: string;
  address: string;
  kind: 'Queue' | 'User';
  protocol: 'IMAP' | 'POP3' | 'EWS' | 'Graph';
  /** Dovecot login. */
  login?: string;
  approval: 1 | 2 | 3;
  /** mailbox.processemailreceivedafter (date only). */
  processFrom?: string;
  id?: string;
}

/**
 * A small organization whose profiles reach real servers, for applying wave by wave: 2 queues and
 * 7 users over IMAP and POP3 (Dovecot), EWS and Graph (fakes); one user still pending approval.
 */
export function seedWaveOrganization(
  dv: FakeDynamics,
  config: FakeDataverseConfig,
  at: WaveEndpoints,
  mailboxes: WaveMailbox[],
): Record<string, string> {
  const profiles: Record<WaveMailbox['protocol'], string> = {
    IMAP: config.addProfile({
      name: 'Dovecot IMAP',
      servertype: 4,
      incomingserverlocation: '127.0.0.1',
      incomingportnumber: at.dovecotImaps,
      incomingusessl: true,
      outgoingserverlocation: '127.0.0.1',
      outgoingportnumber: 465,
      outgoingusessl: true,
      incomingcredentialretrieval: 0,
      usesamesettingsforoutgoingconnections: true,
    }),
    POP3: config.addProfile({
      name: 'Dovecot POP3',
      servertype: 1,
      incomingserverlocation: '127.0.0.1',
      incomingportnumber: at.dovecotPop3s,
      incomingusessl: true,
      outgoingserverlocation: '127.0.0.1',
      outgoingportnumber: 465,
      outgoingusessl: true,
      incomingcredentialretrieval: 0,
      usesamesettingsforoutgoingconnections: true,
    }),
    EWS: config.addProfile({
      name: 'Contoso Exchange',
      servertype: 0,
      exchangeversion: 5,
      incomingserverlocation: at.ewsUrl,
      incomingcredentialretrieval: 1,
      incominguseimpersonation: true,
      incomingauthenticationprotocol: 3,
      usesamesettingsforoutgoingconnections: true,
      processemailsreceivedafter: at.exchangeProcessFrom,
    }),
    Graph: config.addProfile({
      name: 'Exchange Online',
      servertype: 0,
      useautodiscover: true,
      incomingcredentialretrieval: 2,
      usesamesettingsforoutgoingconnections: true,
    }),
  };
  config.setOrganization({ name: 'fabrikam', ...ORGANIZATION }, profiles.Graph);
  const ids: Record<string, string> = {};
  for (const m of mailboxes) {
    const owner =
      m.kind === 'Queue'
        ? { table: 'queue' as const, id: dv.addQueue(m.address, m.name), name: m.name }
        : { table: 'systemuser' as const, id: dv.addUser(m.address, m.name), name: m.name };
    if (m.kind === 'User') config.setUserFiltering(owner.id, 0);
    const exchange = m.protocol === 'EWS' || m.protocol === 'Graph';
    ids[m.name] = config.addMailbox({
      emailaddress: m.address,
      regarding: owner,
      profileId: profiles[m.protocol],
      incomingemaildeliverymethod: 2,
      outgoingemaildeliverymethod: exchange ? 2 : 0,
      emailrouteraccessapproval: m.approval,
      ...(exchange ? {} : { allowemailconnectortousecredentials: true, username: m.login }),
      ...(m.processFrom ? { processemailreceivedafter: m.processFrom } : {}),
    });
  }
  return ids;
}
