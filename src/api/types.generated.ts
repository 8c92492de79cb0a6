// Generated from src/api/schema.ts by `make generate`. Do not edit.
/* eslint-disable */

/**
 * EmailServerProfileSpec describes how to reach one mail system.
 */
export interface EmailServerProfileSpec {
/**
 * Kind of mail system: ExchangeServer (on-premises Exchange 2010/2013/2016/2019/SE over EWS), ExchangeOnline (Microsoft 365 over Microsoft Graph), IMAP (IMAP in, SMTP out), POP3 (POP3 in, SMTP out). One of: ExchangeServer, ExchangeOnline, IMAP, POP3.
 */
serverType: ("ExchangeServer" | "ExchangeOnline" | "IMAP" | "POP3")
/**
 * ExchangeServer only: the Exchange version of the server, which decides the EWS schema version requests are written for (RequestServerVersion). Unset (recommended), the version is detected from the server's first answer: requests start in the Exchange 2010 schema, which every supported server accepts, and use the detected one from then on. Exchange2010_SP2 also covers Exchange 2010 SP3; Exchange2019 also covers Exchange Server SE. A version newer than the server is refused by the server. One of: Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016, Exchange2019.
 */
exchangeVersion?: ("Exchange2010" | "Exchange2010_SP1" | "Exchange2010_SP2" | "Exchange2013" | "Exchange2013_SP1" | "Exchange2016" | "Exchange2019")
/**
 * How to reach the incoming mail server.
 */
incoming?: {
/**
 * Protocol for incoming mail. Defaults from serverType (ExchangeServer: EWS, ExchangeOnline: Graph, IMAP/POP3: IMAP/POP3). One of: EWS, Graph, IMAP, POP3.
 */
protocol?: ("EWS" | "Graph" | "IMAP" | "POP3")
/**
 * Host name or IP address of the incoming mail server: imap.example.com, 192.0.2.10, 2001:db8::1 or [2001:db8::1]. No URL and no port (see port).
 */
server?: string
/**
 * Exchange Web Services or Microsoft Graph endpoint for incoming mail (for example https://mail.example.com/EWS/Exchange.asmx). Must be an https:// URL unless spec.allowInsecureAuthentication is true.
 */
url?: string
/**
 * TCP port. Defaults from the protocol and TLS mode (IMAP 993/143, POP3 995/110).
 */
port?: number
/**
 * Transport security for IMAP, POP3 and SMTP: Implicit (TLS from the first byte), STARTTLS (upgrade, mandatory), or None (only with spec.allowInsecureAuthentication: true). EWS and Graph follow the scheme of url. One of: Implicit, STARTTLS, None.
 */
tls?: ("Implicit" | "STARTTLS" | "None")
/**
 * Exchange only: find the EWS URL through Autodiscover instead of url.
 */
autodiscover?: boolean
/**
 * Authentication method. NTLM is for Exchange Server (EWS), OAuth2 (client credentials) for Exchange, XOAUTH2 for IMAP, POP3 and SMTP (a static accessToken, or tokens from oauth). None: an anonymous SMTP relay that accepts mail by the sender's IP (outgoing SMTP only, with useSameSettingsForOutgoing: false; TLS still applies). Defaults to Basic. One of: Basic, NTLM, OAuth2, XOAUTH2, None.
 */
authentication?: ("Basic" | "NTLM" | "OAuth2" | "XOAUTH2" | "None")
/**
 * Where the credentials come from.
 */
credentials?: {
/**
 * Profile: one Secret for all mailboxes of this profile (a service account using impersonation or delegated "send as" rights). Mailbox: each Mailbox names its own Secret in spec.credentialsSecretRef. One of: Profile, Mailbox.
 */
source?: ("Profile" | "Mailbox")
/**
 * Secret with keys username and password (Basic, NTLM); clientSecret, or tls.crt and tls.key (OAuth2); accessToken, or with oauth a refreshToken or the client's credentials (XOAUTH2). Required when source is Profile, unless oauth.serviceAccountName stands for it. References resolve in the resource's own namespace only.
 */
secretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * Exchange only: act as each mailbox through the ApplicationImpersonation role.
 */
impersonation?: boolean
}
/**
 * OAuth 2.0 (docs/oauth.md). OAuth2: an app-only token (client credentials) for Microsoft Graph, EWS or Dataverse. XOAUTH2 with these settings: a token for IMAP, POP3 and SMTP from the token endpoint: delegated, from a user's refresh token (Secret key refreshToken: Gmail, Microsoft 365), or app-only (client credentials: Microsoft 365's IMAP, POP and SMTP). The client proves itself with the Secret in credentials.secretRef (or each Mailbox's spec.credentialsSecretRef): key clientSecret, or a certificate (keys tls.crt and tls.key, a kubernetes.io/tls Secret: no shared secret travels), or needs no Secret at all with serviceAccountName (workload identity federation).
 */
oauth?: {
/**
 * Microsoft Entra tenant ID (GUID) or domain.
 */
tenantId?: string
/**
 * Application (client) ID registered in the identity provider.
 */
clientId: string
/**
 * Token authority. Defaults to https://login.microsoftonline.com; use https://login.microsoftonline.us or https://login.chinacloudapi.cn for sovereign clouds. Credentials are sent here: http:// needs spec.allowInsecureAuthentication: true.
 */
authorityURL?: string
/**
 * The token endpoint itself, instead of {authorityURL}/{tenantId}/oauth2/v2.0/token: https://oauth2.googleapis.com/token for Google accounts. Credentials are sent here: http:// needs spec.allowInsecureAuthentication: true.
 */
tokenURL?: string
/**
 * Scope requested with the token. Defaults to https://graph.microsoft.com/.default for Graph, https://outlook.office365.com/.default for EWS and app-only IMAP/POP/SMTP, the Dataverse organization for the CRM, and none for a refresh token (it keeps what the user consented to).
 */
scope?: string
/**
 * Workload identity federation, as AKS workload identity does: a token of this ServiceAccount (in this object's namespace), requested from the API server for the audience api://AzureADTokenExchange, is exchanged at the token endpoint instead of a secret or certificate. The app registration trusts it with a federated credential (issuer: the cluster's service account issuer; subject: system:serviceaccount:<namespace>:<name>). Whoever sets it must be allowed to create tokens for that ServiceAccount.
 */
serviceAccountName?: string
}
/**
 * Extra certificate authorities to trust for this server, in PEM. Certificate verification is always on; this only adds trust, for servers whose certificate is issued by a private CA.
 */
caBundle?: {
/**
 * A Secret key holding the PEM bundle (key defaults to ca.crt). References resolve in the resource's own namespace only.
 */
secretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
/**
 * Key within the Secret.
 */
key?: string
}
/**
 * A ConfigMap key holding the PEM bundle (key defaults to ca.crt). References resolve in the resource's own namespace only.
 */
configMapRef?: {
/**
 * Name of the ConfigMap in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
/**
 * Key within the ConfigMap.
 */
key?: string
}
}
/**
 * Per-operation timeout for this server. A duration such as 30s, 5m or 1h30m.
 */
timeout?: string
/**
 * How new mail is noticed. Push (the default): IMAP IDLE, EWS streaming notifications or Microsoft Graph change notifications (the operator must be given its public notification URL), each with a safety resync that adapts between minPollingInterval and maxPollingInterval; where push is not available the mailbox is polled and status.sync.incoming.notifications says why. Poll: polled only, between minPollingInterval and maxPollingInterval, holding no IMAP connection between polls (fewer connections on the server, mail arrives later). POP3 is always polled. One of: Push, Poll.
 */
notifications?: ("Push" | "Poll")
/**
 * IMAP only: negotiate COMPRESS=DEFLATE (RFC 4978) when the server offers it. Off by default; mail compresses to about a third, which pays over slow or metered links, and it measured somewhat faster on loopback too (see docs/sync.md).
 */
compress?: boolean
}
/**
 * How to reach the outgoing mail server.
 */
outgoing?: {
/**
 * Protocol for outgoing mail. Defaults from serverType (ExchangeServer: EWS, ExchangeOnline: Graph, IMAP/POP3: SMTP). One of: EWS, Graph, SMTP.
 */
protocol?: ("EWS" | "Graph" | "SMTP")
/**
 * Host name or IP address of the outgoing mail server: smtp.example.com, 192.0.2.10, 2001:db8::1 or [2001:db8::1]. No URL and no port (see port).
 */
server?: string
/**
 * Exchange Web Services or Microsoft Graph endpoint for outgoing mail (for example https://mail.example.com/EWS/Exchange.asmx). Must be an https:// URL unless spec.allowInsecureAuthentication is true.
 */
url?: string
/**
 * TCP port. Defaults from the protocol and TLS mode (SMTP 465/587).
 */
port?: number
/**
 * Transport security for IMAP, POP3 and SMTP: Implicit (TLS from the first byte), STARTTLS (upgrade, mandatory), or None (only with spec.allowInsecureAuthentication: true). EWS and Graph follow the scheme of url. One of: Implicit, STARTTLS, None.
 */
tls?: ("Implicit" | "STARTTLS" | "None")
/**
 * Exchange only: find the EWS URL through Autodiscover instead of url.
 */
autodiscover?: boolean
/**
 * Authentication method. NTLM is for Exchange Server (EWS), OAuth2 (client credentials) for Exchange, XOAUTH2 for IMAP, POP3 and SMTP (a static accessToken, or tokens from oauth). None: an anonymous SMTP relay that accepts mail by the sender's IP (outgoing SMTP only, with useSameSettingsForOutgoing: false; TLS still applies). Defaults to Basic. One of: Basic, NTLM, OAuth2, XOAUTH2, None. Set only when spec.useSameSettingsForOutgoing is false; while it is true the incoming one is used.
 */
authentication?: ("Basic" | "NTLM" | "OAuth2" | "XOAUTH2" | "None")
/**
 * Where the credentials come from. Set only when spec.useSameSettingsForOutgoing is false; while it is true the incoming one is used.
 */
credentials?: {
/**
 * Profile: one Secret for all mailboxes of this profile (a service account using impersonation or delegated "send as" rights). Mailbox: each Mailbox names its own Secret in spec.credentialsSecretRef. One of: Profile, Mailbox.
 */
source?: ("Profile" | "Mailbox")
/**
 * Secret with keys username and password (Basic, NTLM); clientSecret, or tls.crt and tls.key (OAuth2); accessToken, or with oauth a refreshToken or the client's credentials (XOAUTH2). Required when source is Profile, unless oauth.serviceAccountName stands for it. References resolve in the resource's own namespace only.
 */
secretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * Exchange only: act as each mailbox through the ApplicationImpersonation role.
 */
impersonation?: boolean
}
/**
 * OAuth 2.0 (docs/oauth.md). OAuth2: an app-only token (client credentials) for Microsoft Graph, EWS or Dataverse. XOAUTH2 with these settings: a token for IMAP, POP3 and SMTP from the token endpoint: delegated, from a user's refresh token (Secret key refreshToken: Gmail, Microsoft 365), or app-only (client credentials: Microsoft 365's IMAP, POP and SMTP). The client proves itself with the Secret in credentials.secretRef (or each Mailbox's spec.credentialsSecretRef): key clientSecret, or a certificate (keys tls.crt and tls.key, a kubernetes.io/tls Secret: no shared secret travels), or needs no Secret at all with serviceAccountName (workload identity federation). Set only when spec.useSameSettingsForOutgoing is false; while it is true the incoming one is used.
 */
oauth?: {
/**
 * Microsoft Entra tenant ID (GUID) or domain.
 */
tenantId?: string
/**
 * Application (client) ID registered in the identity provider.
 */
clientId: string
/**
 * Token authority. Defaults to https://login.microsoftonline.com; use https://login.microsoftonline.us or https://login.chinacloudapi.cn for sovereign clouds. Credentials are sent here: http:// needs spec.allowInsecureAuthentication: true.
 */
authorityURL?: string
/**
 * The token endpoint itself, instead of {authorityURL}/{tenantId}/oauth2/v2.0/token: https://oauth2.googleapis.com/token for Google accounts. Credentials are sent here: http:// needs spec.allowInsecureAuthentication: true.
 */
tokenURL?: string
/**
 * Scope requested with the token. Defaults to https://graph.microsoft.com/.default for Graph, https://outlook.office365.com/.default for EWS and app-only IMAP/POP/SMTP, the Dataverse organization for the CRM, and none for a refresh token (it keeps what the user consented to).
 */
scope?: string
/**
 * Workload identity federation, as AKS workload identity does: a token of this ServiceAccount (in this object's namespace), requested from the API server for the audience api://AzureADTokenExchange, is exchanged at the token endpoint instead of a secret or certificate. The app registration trusts it with a federated credential (issuer: the cluster's service account issuer; subject: system:serviceaccount:<namespace>:<name>). Whoever sets it must be allowed to create tokens for that ServiceAccount.
 */
serviceAccountName?: string
}
/**
 * Extra certificate authorities to trust for this server, in PEM. Certificate verification is always on; this only adds trust, for servers whose certificate is issued by a private CA. While spec.useSameSettingsForOutgoing is true, outgoing trusts the incoming caBundle unless this is set.
 */
caBundle?: {
/**
 * A Secret key holding the PEM bundle (key defaults to ca.crt). References resolve in the resource's own namespace only.
 */
secretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
/**
 * Key within the Secret.
 */
key?: string
}
/**
 * A ConfigMap key holding the PEM bundle (key defaults to ca.crt). References resolve in the resource's own namespace only.
 */
configMapRef?: {
/**
 * Name of the ConfigMap in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
/**
 * Key within the ConfigMap.
 */
key?: string
}
}
/**
 * Per-operation timeout for this server. A duration such as 30s, 5m or 1h30m.
 */
timeout?: string
/**
 * IMAP profiles: after the SMTP server accepted a message, save a copy in the mailbox's Sent folder over IMAP (APPEND, flagged as read; the folder marked \Sent, else one named Sent, created when missing), as a mail client does. Unset means true. Set false for servers that save sent mail themselves (Gmail, Exchange, Microsoft 365), or the copy appears twice. Exchange profiles always save it (EWS SendAndSaveCopy, Graph sendMail).
 */
saveToSentFolder?: boolean
/**
 * SendAs: mail appears to come from the mailbox owner alone. SendOnBehalf: From is the owner and Sender the sending mailbox. One of: SendAs, SendOnBehalf.
 */
sendMode?: ("SendAs" | "SendOnBehalf")
}
/**
 * Outgoing mail signs in as incoming does: it uses spec.incoming's authentication, credentials and oauth (so the same Secret), and trusts spec.incoming's caBundle unless spec.outgoing.caBundle is set. Where to connect (server or url, port, tls, timeout) stays outgoing's own; an Exchange profile without an outgoing server or url sends through the incoming url. Set it to false to give spec.outgoing its own authentication, credentials and oauth.
 */
useSameSettingsForOutgoing?: boolean
/**
 * Allow credentials over a connection without TLS: tls: None, an http:// url or an http:// oauth.authorityURL. Every method is exposed there: Basic and XOAUTH2 send the secret as it is, and an NTLM challenge-response can be cracked offline. Off by default; only for isolated test systems.
 */
allowInsecureAuthentication?: boolean
/**
 * Connections open at once to one server of this profile per authenticated identity (Dynamics: per mailbox with the mailbox's credentials, per profile with the profile's): IMAP sessions (each mailbox's inbox, and its Sent Items when tracked), SMTP connections (each send holds one; a mailbox's pool has at most this many), EWS and Graph requests, and test connections. A connection waits for a free one. A profile's shared identity is used by every sync worker, so each holds its share: this divided by the live workers, at least one. An IMAP service account needs one per mailbox it keeps open.
 */
maxConcurrentConnections?: number
/**
 * Shortest time between two safety resyncs (or polls) of one mailbox: a mailbox that receives mail is looked at this often. A duration such as 30s, 5m or 1h30m.
 */
minPollingInterval?: string
/**
 * Longest time between two safety resyncs (or polls) of one mailbox: the interval doubles after each cycle that found nothing, from minPollingInterval up to this (as the keep-alive of Dynamics 365 polls quiet mailboxes less), and falls back to minPollingInterval when mail arrives. Defaults to 15m, or to minPollingInterval when that is longer. A duration such as 30s, 5m or 1h30m.
 */
maxPollingInterval?: string
/**
 * Only mail received after this time is processed (RFC 3339).
 */
processEmailReceivedAfter?: string
/**
 * Move messages that cannot be tracked to an Undeliverable folder instead of leaving them in the Inbox.
 */
moveFailedToUndeliverable?: boolean
/**
 * Largest attachment taken into the CRM; larger messages are reported and skipped. A quantity such as 25Mi, 10M or 1048576 (bytes).
 */
maxAttachmentSize?: string
/**
 * Synchronization of appointments, contacts and tasks (Exchange only).
 */
appointmentsContactsTasks?: {
/**
 * Allow mailboxes of this profile to synchronize appointments, contacts and tasks.
 */
enabled?: boolean
}
/**
 * How a change to this profile reaches its mailboxes: in batches, queue mailboxes first, each batch tested before it switches. Mailboxes whose test fails keep running on the last revision that passed.
 */
rollout?: {
/**
 * Mailboxes moved to a new revision per batch (queue mailboxes first, then users, each by name).
 */
batchSize?: number
/**
 * Connection tests of this profile's mailboxes running at once: rollouts, Test and Enable of new mailboxes and test requests alike.
 */
maxConcurrentTests?: number
/**
 * Pause between batches: the next batch starts this long after every mailbox of the previous one has a test result. A duration such as 30s, 5m or 1h30m.
 */
interval?: string
/**
 * Percentage of failed tests in a batch at which the rollout pauses (Dynamics alerts at 50%).
 */
failureThreshold?: number
/**
 * Pause the rollout by hand: no further batch starts until this is false again (tests already admitted finish).
 */
paused?: boolean
}
}

/**
 * EmailServerProfileStatus is the observed state of the profile.
 */
export interface EmailServerProfileStatus {
/**
 * The metadata.generation most recently acted on by the controller.
 */
observedGeneration?: number
/**
 * Current state of the resource as standard conditions (kstatus-compatible: Ready, Reconciling, Stalled).
 * 
 * @maxItems 32
 */
conditions?: {
/**
 * Type of condition in CamelCase.
 */
type: string
/**
 * Status of the condition. One of: True, False, Unknown.
 */
status: ("True" | "False" | "Unknown")
/**
 * The .metadata.generation that the condition was set based upon.
 */
observedGeneration?: number
/**
 * Last time the condition transitioned from one status to another.
 */
lastTransitionTime: string
/**
 * A programmatic identifier for the condition's last transition, in CamelCase.
 */
reason: string
/**
 * A human readable message indicating details about the transition.
 */
message: string
}[]
/**
 * Mailbox counts, including the progress of the rollout of the current revision.
 */
mailboxes?: {
/**
 * Mailboxes that reference this object.
 */
total?: number
/**
 * Mailboxes that are processing mail.
 */
enabled?: number
/**
 * Mailboxes with a failed direction.
 */
failing?: number
/**
 * Mailboxes running on the current revision.
 */
updated?: number
/**
 * Mailboxes whose last test ran against the current revision (passed or failed).
 */
tested?: number
/**
 * Mailboxes whose test of the current revision failed: they keep running on their last-known-good revision.
 */
failed?: number
/**
 * Mailboxes still to move to the current revision: waiting for their batch or being tested.
 */
pending?: number
}
/**
 * The current revision: a hash of the spec (without spec.rollout) and of the versions of the Secrets and ConfigMaps it references. Every change to either is a new revision, rolled out to the mailboxes by spec.rollout.
 */
revision?: string
/**
 * The revisions mailboxes run on (the current one and any older last-known-good ones), so that workers can run them.
 * 
 * @maxItems 32
 */
revisions?: {
/**
 * The revision (hash).
 */
revision: string
/**
 * The profile spec of this revision (spec.rollout excluded), as it was when the revision was current.
 */
spec: {

}
}[]
/**
 * Progress of the rollout of the current revision. Mailboxes are taken in a fixed order (queues before users, then by name); a mailbox may test the revision once the rollout has admitted it (its "Kind/name" sorts at or before admittedThrough).
 */
rollout?: {
/**
 * The revision being rolled out.
 */
revision?: string
/**
 * Batches admitted so far (1 is the first).
 */
batch?: number
/**
 * Mailboxes admitted in the current batch.
 */
batchSize?: number
/**
 * Exclusive lower bound of the current batch in the rollout order ("Kind/name"); empty for the first batch.
 */
batchAfter?: string
/**
 * Last mailbox admitted so far in the rollout order ("Kind/name", e.g. User/ann); empty before the first batch.
 */
admittedThrough?: string
/**
 * When the current batch was admitted.
 */
batchStartTime?: string
/**
 * When every mailbox of the current batch had a test result; the next batch is admitted spec.rollout.interval later.
 */
batchCompletionTime?: string
/**
 * Mailboxes whose test of this revision failed, current batch first (the first 20).
 * 
 * @maxItems 32
 */
failures?: {
/**
 * Name of the Mailbox.
 */
mailbox: string
/**
 * Failure reason, e.g. ServerUnreachable or AuthenticationFailed.
 */
reason: string
/**
 * What failed, as in the mailbox's UpToDate condition.
 */
message?: string
}[]
}
/**
 * The last test of the profile itself (Dynamics' Test Connection), run on a test request (annotation mailsync.dev/test-requested-at), with or without mailboxes: each server reached, TLS as configured, and, where the profile has its own credentials (credentials.source: Profile), the sign-in. The same request also tests every mailbox of the profile.
 */
connectionTest?: {
/**
 * The value of the mailsync.dev/test-requested-at annotation this test answered.
 */
request?: string
/**
 * When it ran.
 */
time?: string
/**
 * Succeeded when every step of every direction passed. One of: Succeeded, Failed.
 */
result?: ("Succeeded" | "Failed")
/**
 * Per direction.
 * 
 * @maxItems 2
 */
directions?: []|[{
/**
 * Which server. One of: incoming, outgoing.
 */
direction: ("incoming" | "outgoing")
/**
 * Succeeded, or the failure reason (see docs/observability.md), e.g. ServerUnreachable, TLSError, AuthenticationFailed.
 */
reason: string
/**
 * What was tested and found (steps: reachability, TLS, sign-in), or what failed.
 */
message: string
}]|[{
/**
 * Which server. One of: incoming, outgoing.
 */
direction: ("incoming" | "outgoing")
/**
 * Succeeded, or the failure reason (see docs/observability.md), e.g. ServerUnreachable, TLSError, AuthenticationFailed.
 */
reason: string
/**
 * What was tested and found (steps: reachability, TLS, sign-in), or what failed.
 */
message: string
}, {
/**
 * Which server. One of: incoming, outgoing.
 */
direction: ("incoming" | "outgoing")
/**
 * Succeeded, or the failure reason (see docs/observability.md), e.g. ServerUnreachable, TLSError, AuthenticationFailed.
 */
reason: string
/**
 * What was tested and found (steps: reachability, TLS, sign-in), or what failed.
 */
message: string
}]
}
}

/**
 * MailboxSpec is one CRM user's or queue's mailbox.
 */
export interface MailboxSpec {
/**
 * The mailbox address, such as ann@contoso.example (the bare address: no display name, no mailto:). Changing it withdraws any approval.
 */
emailAddress: string
/**
 * The CRM user or queue this mailbox belongs to. Required, except for a forward mailbox, which has none.
 */
owner?: {
/**
 * Kind of owner. One of: User, Queue.
 */
kind: ("User" | "Queue")
/**
 * Name or ID of the user or queue in the CRM.
 */
name: string
}
/**
 * The Deployment (CRM organization) this mailbox belongs to. References resolve in the resource's own namespace only.
 */
deploymentRef: {
/**
 * Name of the Deployment in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * The EmailServerProfile to use. Defaults to the Deployment's spec.defaults.serverProfileRef. References resolve in the resource's own namespace only.
 */
serverProfileRef?: {
/**
 * Name of the EmailServerProfile in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * How incoming email reaches the CRM: ServerSideSync, ForwardMailbox (through a forward mailbox), or None. One of: ServerSideSync, ForwardMailbox, None.
 */
incoming?: ("ServerSideSync" | "ForwardMailbox" | "None")
/**
 * How email written in the CRM is sent: ServerSideSync or None. One of: ServerSideSync, None.
 */
outgoing?: ("ServerSideSync" | "None")
/**
 * Appointments, contacts and tasks: ServerSideSync (Exchange only) or None. One of: ServerSideSync, None.
 */
appointmentsContactsTasks?: ("ServerSideSync" | "None")
/**
 * Secret with this mailbox's credentials (username and password, or accessToken), used when the profile's credentials.source is Mailbox. References resolve in the resource's own namespace only.
 */
credentialsSecretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * Only mail received after this time is processed (RFC 3339), as Dynamics' Process Email Received After. The later of this and the profile's spec.processEmailReceivedAfter applies. When empty, the Deployment's spec.firstSync.since (if set) stands in for it. It filters what the source reads; it does not rewind a mailbox that has synced already (status.incomingStart shows what applies).
 */
processEmailReceivedAfter?: string
/**
 * This is a forward mailbox: a collection mailbox, dedicated to the operator, that receives mail forwarded (as an attachment) by the mailboxes of its Deployment whose incoming delivery method is ForwardMailbox. It has no owner: the activity of each forwarded message belongs to the user or queue whose mailbox forwarded it, and it sends nothing (outgoing and ACT are None).
 */
forwardMailbox?: boolean
/**
 * Forward and queue mailboxes only (as Dynamics allows): delete each message once it reached the CRM (a forward mailbox also deletes messages its filtering left out). IMAP and POP3 delete it; EWS and Graph move it to Deleted Items.
 */
deleteAfterProcessing?: boolean
/**
 * Stop processing without deleting anything; tests still run on request.
 */
suspended?: boolean
/**
 * One mailbox syncs with one organization: when another Mailbox (in any namespace the operator watches) has the same address, only the oldest is enabled and the others report AddressInUse naming it. Set true to take the address over from it instead (it stops, reporting AddressInUse), as Dynamics' "Sync items with Exchange from this org only" does. Across namespaces the take-over takes effect only once an approver approved the address on this Mailbox.
 */
takeOverAddress?: boolean
/**
 * Appointment, contact and task synchronization of this mailbox (with spec.appointmentsContactsTasks: ServerSideSync).
 */
act?: {
/**
 * This Deployment takes the mailbox over from any other organization that synchronizes its appointments, contacts and tasks (Dynamics' "Synchronize items with Exchange from this organization only"): only one organization writes to a mailbox.
 */
takeOver?: boolean
/**
 * Read both sides and report what the synchronization would do (status.act.dryRun, an Event), writing nothing.
 */
dryRun?: boolean
}
}

/**
 * MailboxStatus is the observed state of the mailbox.
 */
export interface MailboxStatus {
/**
 * The metadata.generation most recently acted on by the controller.
 */
observedGeneration?: number
/**
 * Current state of the resource as standard conditions (kstatus-compatible: Ready, Reconciling, Stalled).
 * 
 * @maxItems 32
 */
conditions?: {
/**
 * Type of condition in CamelCase.
 */
type: string
/**
 * Status of the condition. One of: True, False, Unknown.
 */
status: ("True" | "False" | "Unknown")
/**
 * The .metadata.generation that the condition was set based upon.
 */
observedGeneration?: number
/**
 * Last time the condition transitioned from one status to another.
 */
lastTransitionTime: string
/**
 * A programmatic identifier for the condition's last transition, in CamelCase.
 */
reason: string
/**
 * A human readable message indicating details about the transition.
 */
message: string
}[]
/**
 * The EmailServerProfile the mailbox runs on, after defaults (during a move to another profile, the one it moves from).
 */
serverProfile?: string
/**
 * The address the Approved/Denied conditions refer to; written by the approver. An approval binds to this exact address.
 */
emailAddress?: string
/**
 * When Test and Enable last ran.
 */
lastTestTime?: string
/**
 * When a test that failed transiently is retried.
 */
nextTestTime?: string
/**
 * The profile revision the last test ran against.
 */
testedRevision?: string
/**
 * Hash of everything the last test depended on: the profile revision, the delivery methods and this mailbox's own settings and Secret versions.
 */
testedConfigHash?: string
/**
 * The value of the mailsync.dev/test-requested-at annotation that the last test answered.
 */
testRequest?: string
/**
 * The value of the profile's mailsync.dev/test-requested-at annotation that the last test answered (a request to test all of the profile's mailboxes).
 */
profileTestRequest?: string
/**
 * When the last sync cycle of any direction succeeded (per direction: status.sync).
 */
lastSyncTime?: string
/**
 * When the next sync cycle of any direction is planned: the earliest of status.sync.incoming and status.sync.outgoing.
 */
nextSyncTime?: string
/**
 * Transient failures in a row; at the limit the direction is disabled with TooManyTransientFailures.
 */
consecutiveTransientFailures?: number
/**
 * The profile revision this mailbox runs on (of the profile in serverProfile): the one its direction conditions were tested on. During a rollout it stays on its last-known-good revision until its test of targetRevision passes.
 */
revision?: string
/**
 * Hash of the configuration the mailbox runs on (as testedConfigHash, for the configuration in revision).
 */
configHash?: string
/**
 * The batch of the rollout of targetRevision in which this mailbox was first tested (to count the failures of each batch).
 */
rolloutBatch?: number
/**
 * The profile revision this mailbox is moving to (of the profile it resolves to now), while it waits for its batch or its test of it failed.
 */
targetRevision?: string
/**
 * Messages processed since the mailbox was created.
 */
counts?: {
/**
 * Incoming messages delivered to the CRM, counted with the checkpoint: it equals what the CRM holds for this mailbox, across crashes.
 */
received?: number
/**
 * Outgoing messages sent (approximate: may miss the last second before a crash).
 */
sent?: number
/**
 * Messages that could not be processed (approximate, as sent).
 */
failed?: number
}
/**
 * Where incremental sync resumes: IMAP UIDVALIDITY/last UID/HIGHESTMODSEQ, or an EWS/Graph sync state.
 */
checkpoint?: {
/**
 * IMAP UIDVALIDITY of the synced folder.
 */
uidValidity?: string
/**
 * Highest IMAP UID delivered to the CRM.
 */
lastUid?: number
/**
 * IMAP HIGHESTMODSEQ at the last sync.
 */
highestModseq?: string
/**
 * Opaque EWS SyncState or Graph delta link.
 */
syncState?: string
/**
 * Where the sync of the mailbox's Sent Items resumes (the Deployment's trackSentItems), in the same fields.
 */
sentItems?: {
/**
 * IMAP UIDVALIDITY of the Sent folder.
 */
uidValidity?: string
/**
 * Highest IMAP UID of the Sent folder delivered to the CRM.
 */
lastUid?: number
/**
 * IMAP HIGHESTMODSEQ of the Sent folder at the last sync.
 */
highestModseq?: string
/**
 * Opaque EWS SyncState or Graph delta link of Sent Items.
 */
syncState?: string
}
}
/**
 * Per direction: last and next cycle, what the last cycle did, and any current failure.
 */
sync?: {
/**
 * The incoming sync loop, as its worker last reported it.
 */
incoming?: {
/**
 * When the last cycle of this direction succeeded.
 */
lastSyncTime?: string
/**
 * When this direction runs again by itself (the next cycle, or the next retry while it fails), as of the last write: a quiet cycle writes nothing, so in a quiet steady state pollInterval tells the cadence.
 */
nextSyncTime?: string
/**
 * The time between two cycles started by the clock now (safety resyncs where notifications wake the mailbox, polls otherwise): it adapts between the profile's minPollingInterval and maxPollingInterval. A duration such as 30s, 5m or 1h30m.
 */
pollInterval?: string
/**
 * How new mail wakes this mailbox up, and why not when it cannot.
 */
notifications?: {
/**
 * What wakes the mailbox up when mail arrives; Polling: nothing does, the mailbox is polled. One of: IMAPIdle, EWSStreaming, EWSPull, GraphChangeNotifications, Polling.
 */
method?: ("IMAPIdle" | "EWSStreaming" | "EWSPull" | "GraphChangeNotifications" | "Polling")
/**
 * What the worker found: the subscription in use, or why push is not available and the mailbox is polled instead.
 */
message?: string
}
/**
 * What the last successful cycle did.
 */
lastCycle?: {
/**
 * Messages delivered to the CRM.
 */
delivered?: number
/**
 * Messages the CRM already had (redelivered after a crash or a move).
 */
duplicates?: number
/**
 * Messages the Deployment's incoming filtering left out.
 */
filtered?: number
/**
 * Messages that could not be processed (see recentFailures).
 */
failed?: number
}
/**
 * Set while the direction fails during sync; removed when a cycle succeeds again.
 */
failure?: {
/**
 * Failure reason (see docs/observability.md), e.g. ServerUnreachable or AuthenticationFailed.
 */
reason: string
/**
 * What failed.
 */
message: string
/**
 * Retrying cannot fix it: the direction stopped at once, with no further sign-in, until something changes (Secret, profile, Deployment, a test request).
 */
permanent?: boolean
/**
 * The transient-failure budget ran out: the direction stopped; the controller probes it (TooManyTransientFailures).
 */
exhausted?: boolean
/**
 * Transient failures counted against the budget (spec.retryPolicy of the Deployment).
 */
failures?: number
/**
 * When the direction started failing.
 */
since?: string
/**
 * What the worker ran on when it failed (configuration, last test, CRM connector); a change makes the failure stale.
 */
basis?: string
}
}
/**
 * The outgoing sync loop, as its worker last reported it.
 */
outgoing?: {
/**
 * When the last cycle of this direction succeeded.
 */
lastSyncTime?: string
/**
 * When this direction runs again by itself (the next cycle, or the next retry while it fails), as of the last write: a quiet cycle writes nothing, so in a quiet steady state pollInterval tells the cadence.
 */
nextSyncTime?: string
/**
 * The time between two cycles started by the clock now (safety resyncs where notifications wake the mailbox, polls otherwise): it adapts between the profile's minPollingInterval and maxPollingInterval. A duration such as 30s, 5m or 1h30m.
 */
pollInterval?: string
/**
 * What the last successful cycle did.
 */
lastCycle?: {
/**
 * Emails sent.
 */
sent?: number
/**
 * Emails marked failed (see recentFailures).
 */
failed?: number
/**
 * Emails given back to Pending Send because of a failure of the server or the account.
 */
released?: number
/**
 * Emails left pending for the next cycle: an attachment could not be fetched yet, or the email changed in the CRM since it was listed.
 */
deferred?: number
}
/**
 * Set while the direction fails during sync; removed when a cycle succeeds again.
 */
failure?: {
/**
 * Failure reason (see docs/observability.md), e.g. ServerUnreachable or AuthenticationFailed.
 */
reason: string
/**
 * What failed.
 */
message: string
/**
 * Retrying cannot fix it: the direction stopped at once, with no further sign-in, until something changes (Secret, profile, Deployment, a test request).
 */
permanent?: boolean
/**
 * The transient-failure budget ran out: the direction stopped; the controller probes it (TooManyTransientFailures).
 */
exhausted?: boolean
/**
 * Transient failures counted against the budget (spec.retryPolicy of the Deployment).
 */
failures?: number
/**
 * When the direction started failing.
 */
since?: string
/**
 * What the worker ran on when it failed (configuration, last test, CRM connector); a change makes the failure stale.
 */
basis?: string
}
}
/**
 * The appointments, contacts and tasks sync loop, as its worker last reported it.
 */
appointmentsContactsTasks?: {
/**
 * When the last cycle of this direction succeeded.
 */
lastSyncTime?: string
/**
 * When this direction runs again by itself (the next cycle, or the next retry while it fails), as of the last write: a quiet cycle writes nothing, so in a quiet steady state pollInterval tells the cadence.
 */
nextSyncTime?: string
/**
 * The time between two cycles started by the clock now (safety resyncs where notifications wake the mailbox, polls otherwise): it adapts between the profile's minPollingInterval and maxPollingInterval. A duration such as 30s, 5m or 1h30m.
 */
pollInterval?: string
/**
 * What the last successful cycle did.
 */
lastCycle?: {
/**
 * Items created on either side.
 */
created?: number
/**
 * Items updated on either side.
 */
updated?: number
/**
 * Items deleted on either side.
 */
deleted?: number
/**
 * Links removed (a record left the filter, an item lost its tracking category).
 */
unlinked?: number
/**
 * Fields changed on both sides, decided by the conflict policy.
 */
conflicts?: number
/**
 * Items that could not be synchronized (see recentFailures).
 */
failed?: number
}
/**
 * Set while the direction fails during sync; removed when a cycle succeeds again.
 */
failure?: {
/**
 * Failure reason (see docs/observability.md), e.g. ServerUnreachable or AuthenticationFailed.
 */
reason: string
/**
 * What failed.
 */
message: string
/**
 * Retrying cannot fix it: the direction stopped at once, with no further sign-in, until something changes (Secret, profile, Deployment, a test request).
 */
permanent?: boolean
/**
 * The transient-failure budget ran out: the direction stopped; the controller probes it (TooManyTransientFailures).
 */
exhausted?: boolean
/**
 * Transient failures counted against the budget (spec.retryPolicy of the Deployment).
 */
failures?: number
/**
 * When the direction started failing.
 */
since?: string
/**
 * What the worker ran on when it failed (configuration, last test, CRM connector); a change makes the failure stale.
 */
basis?: string
}
}
}
/**
 * Appointments, contacts and tasks synchronized since the mailbox started synchronizing them, per kind (docs/act.md).
 */
act?: {
/**
 * Appointments: what the synchronization did, both directions together.
 */
appointments?: {
/**
 * Created on either side.
 */
created?: number
/**
 * Updated on either side.
 */
updated?: number
/**
 * Deleted on either side.
 */
deleted?: number
/**
 * Unlinked (left the sync filter, lost the tracking category).
 */
unlinked?: number
/**
 * Fields changed on both sides, decided by the conflict policy.
 */
conflicts?: number
/**
 * Items that could not be synchronized.
 */
failed?: number
}
/**
 * Contacts: what the synchronization did, both directions together.
 */
contacts?: {
/**
 * Created on either side.
 */
created?: number
/**
 * Updated on either side.
 */
updated?: number
/**
 * Deleted on either side.
 */
deleted?: number
/**
 * Unlinked (left the sync filter, lost the tracking category).
 */
unlinked?: number
/**
 * Fields changed on both sides, decided by the conflict policy.
 */
conflicts?: number
/**
 * Items that could not be synchronized.
 */
failed?: number
}
/**
 * Tasks: what the synchronization did, both directions together.
 */
tasks?: {
/**
 * Created on either side.
 */
created?: number
/**
 * Updated on either side.
 */
updated?: number
/**
 * Deleted on either side.
 */
deleted?: number
/**
 * Unlinked (left the sync filter, lost the tracking category).
 */
unlinked?: number
/**
 * Fields changed on both sides, decided by the conflict policy.
 */
conflicts?: number
/**
 * Items that could not be synchronized.
 */
failed?: number
}
/**
 * What the last dry run found it would do (spec.act.dryRun), in one line.
 */
dryRun?: string
}
/**
 * When a test of this mailbox first passed; the Deployment's spec.firstSync.since counts back from it.
 */
firstSuccessfulTestTime?: string
/**
 * Where incoming sync starts: mail received before this time is never taken into the CRM.
 */
incomingStart?: {
/**
 * The effective start (RFC 3339): the later of the profile's processEmailReceivedAfter and the mailbox's own start (its spec.processEmailReceivedAfter, else the Deployment's firstSync.since counted back from status.firstSuccessfulTestTime)
 */
after?: string
/**
 * Which setting decided it: the profile's or the mailbox's processEmailReceivedAfter, or the Deployment's firstSync.since. One of: EmailServerProfile, Mailbox, Deployment.
 */
from?: ("EmailServerProfile" | "Mailbox" | "Deployment")
}
/**
 * The most recent messages and emails that could not be processed, newest first (at most 10; `mailsync failures` lists them).
 * 
 * @maxItems 10
 */
recentFailures?: []|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]|[{
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}, {
/**
 * When it failed.
 */
time: string
/**
 * in: a message from the mail server; out: an email from the CRM; act: an appointment, contact or task. One of: in, out, act.
 */
direction: ("in" | "out" | "act")
/**
 * Why (see docs/observability.md), e.g. CorruptMessage, AttachmentTooLarge, CRMRejected, MessageRejected, SendOutcomeUnknown.
 */
reason: string
/**
 * Which: the server-side id of the message (IMAP "uidValidity:uid", POP3 UIDL, EWS/Graph id) or the CRM email id.
 */
item?: string
/**
 * What happened.
 */
message?: string
}]
}

/**
 * DeploymentSpec is one CRM organization: its connector and its organization-wide email settings.
 */
export interface DeploymentSpec {
/**
 * The CRM connector.
 */
crm: {
/**
 * Webhook: the documented HTTP+JSON contract. Dynamics365: the Dataverse Web API. One of: Webhook, Dynamics365.
 */
type: ("Webhook" | "Dynamics365")
/**
 * Webhook base URL, or the Dynamics 365 organization URL (https://org.crm.dynamics.com). Must be https:// unless the host is localhost, 127.0.0.1 or [::1] (a CRM adapter in the same pod: the traffic never leaves it) or allowInsecureAuthentication is true.
 */
url: string
/**
 * Secret with the connector credentials: token and signingKey (Webhook) or clientSecret (Dynamics365). References resolve in the resource's own namespace only.
 */
credentialsSecretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * OAuth 2.0 (docs/oauth.md). OAuth2: an app-only token (client credentials) for Microsoft Graph, EWS or Dataverse. XOAUTH2 with these settings: a token for IMAP, POP3 and SMTP from the token endpoint: delegated, from a user's refresh token (Secret key refreshToken: Gmail, Microsoft 365), or app-only (client credentials: Microsoft 365's IMAP, POP and SMTP). The client proves itself with the Secret in spec.crm.credentialsSecretRef: key clientSecret, or a certificate (keys tls.crt and tls.key, a kubernetes.io/tls Secret: no shared secret travels), or needs no Secret at all with serviceAccountName (workload identity federation).
 */
oauth?: {
/**
 * Microsoft Entra tenant ID (GUID) or domain.
 */
tenantId?: string
/**
 * Application (client) ID registered in the identity provider.
 */
clientId: string
/**
 * Token authority. Defaults to https://login.microsoftonline.com; use https://login.microsoftonline.us or https://login.chinacloudapi.cn for sovereign clouds. Credentials are sent here: http:// needs spec.crm.allowInsecureAuthentication: true.
 */
authorityURL?: string
/**
 * The token endpoint itself, instead of {authorityURL}/{tenantId}/oauth2/v2.0/token: https://oauth2.googleapis.com/token for Google accounts. Credentials are sent here: http:// needs spec.crm.allowInsecureAuthentication: true.
 */
tokenURL?: string
/**
 * Scope requested with the token. Defaults to https://graph.microsoft.com/.default for Graph, https://outlook.office365.com/.default for EWS and app-only IMAP/POP/SMTP, the Dataverse organization for the CRM, and none for a refresh token (it keeps what the user consented to).
 */
scope?: string
/**
 * Workload identity federation, as AKS workload identity does: a token of this ServiceAccount (in this object's namespace), requested from the API server for the audience api://AzureADTokenExchange, is exchanged at the token endpoint instead of a secret or certificate. The app registration trusts it with a federated credential (issuer: the cluster's service account issuer; subject: system:serviceaccount:<namespace>:<name>). Whoever sets it must be allowed to create tokens for that ServiceAccount.
 */
serviceAccountName?: string
}
/**
 * Allow an http:// url or oauth.authorityURL on a host other than localhost, 127.0.0.1 or [::1]: the bearer token or client secret and every message would cross the network in cleartext. Off by default; only for isolated test systems.
 */
allowInsecureAuthentication?: boolean
/**
 * Extra certificate authorities to trust for this server, in PEM. Certificate verification is always on; this only adds trust, for servers whose certificate is issued by a private CA.
 */
caBundle?: {
/**
 * A Secret key holding the PEM bundle (key defaults to ca.crt). References resolve in the resource's own namespace only.
 */
secretRef?: {
/**
 * Name of the Secret in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
/**
 * Key within the Secret.
 */
key?: string
}
/**
 * A ConfigMap key holding the PEM bundle (key defaults to ca.crt). References resolve in the resource's own namespace only.
 */
configMapRef?: {
/**
 * Name of the ConfigMap in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
/**
 * Key within the ConfigMap.
 */
key?: string
}
}
/**
 * Per-request timeout. A duration such as 30s, 5m or 1h30m.
 */
timeout?: string
/**
 * Dynamics 365 only: how the operator shares the organization with Dynamics' own email processing (docs/crm.md).
 */
dynamics?: {
/**
 * Addresses whose email processing the operator takes over from Dynamics' server-side synchronization or Email Router. A mailbox whose Dataverse mailbox row Dynamics still processes (delivery method Server-Side Synchronization or Email Router, or Forward Mailbox, and enabled) is not enabled (reason ProcessedByDynamics) unless it is handed over here: then the operator sets those delivery methods to None in Dataverse, so Dynamics stops, records a HandedOverFromDynamics Event, and enables the mailbox.
 */
handOver?: {
/**
 * Hand over every mailbox of this Deployment.
 */
allMailboxes?: boolean
/**
 * Hand over the mailboxes with these addresses (at most 1,000; use allMailboxes for more).
 * 
 * @maxItems 1000
 */
addresses?: string[]
}
/**
 * Write each mailbox's Test and Enable results and sync state into its Dataverse mailbox row (Incoming/Outgoing Email Status, Mailbox Test Completed On, Last Successful Sync Time), so Dynamics' Mailboxes view shows what the operator does.
 */
statusMirror?: boolean
/**
 * Where approval of mailbox addresses comes from. Kubernetes: the approve verb, the approved-address annotation and autoApproveDomains. DynamicsOrKubernetes: also Dynamics' own "Approve Email" (the Dataverse mailbox row's Email Address Status is Approved); the operator then records Approved with reason ApprovedInDynamics. Setting it needs the approve verb. One of: Kubernetes, DynamicsOrKubernetes.
 */
approvalSource?: ("Kubernetes" | "DynamicsOrKubernetes")
}
}
/**
 * Defaults for mailboxes that leave these fields empty.
 */
defaults?: {
/**
 * Default EmailServerProfile. References resolve in the resource's own namespace only.
 */
serverProfileRef?: {
/**
 * Name of the EmailServerProfile in the same namespace.
 */
name: string
/**
 * Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace (a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.
 */
namespace?: string
}
/**
 * How incoming email reaches the CRM: ServerSideSync, ForwardMailbox (through a forward mailbox), or None. One of: ServerSideSync, ForwardMailbox, None.
 */
incoming?: ("ServerSideSync" | "ForwardMailbox" | "None")
/**
 * How email written in the CRM is sent: ServerSideSync or None. One of: ServerSideSync, None.
 */
outgoing?: ("ServerSideSync" | "None")
/**
 * Appointments, contacts and tasks: ServerSideSync (Exchange only) or None. One of: ServerSideSync, None.
 */
appointmentsContactsTasks?: ("ServerSideSync" | "None")
}
/**
 * How this organization's mailboxes synchronize appointments, contacts and tasks with Exchange (docs/act.md).
 */
appointmentsContactsTasks?: {
/**
 * Which kinds synchronize.
 */
kinds?: {
/**
 * Appointments.
 */
appointments?: boolean
/**
 * Contacts.
 */
contacts?: boolean
/**
 * Tasks (Microsoft To Do over Graph; the Tasks folder over EWS).
 */
tasks?: boolean
}
/**
 * Who wins when the same field changed on both sides since the last sync (other fields are merged). One of: CRMWins, ExchangeWins.
 */
conflictPolicy?: ("CRMWins" | "ExchangeWins")
/**
 * The Outlook category that makes an Exchange item tracked, so it comes to the CRM. Defaults to "Tracked to <namespace>/<name>" of this Deployment.
 */
trackingCategory?: string
/**
 * A meeting cancelled in the CRM is cancelled in Exchange (attendees get the cancellation) when the mailbox organizes it, it is in the future and has attendees (Dynamics: SSSPropagateAppointmentCancellationsToExchange). Otherwise it only shows as free.
 */
propagateCancellations?: boolean
/**
 * Calendar window: days before today that synchronize.
 */
pastDays?: number
/**
 * Calendar window: days after today that synchronize.
 */
futureDays?: number
/**
 * Longest wait between two synchronization cycles of an idle mailbox; an active mailbox is synchronized every 10 seconds. A duration such as 30s, 5m or 1h30m.
 */
interval?: string
/**
 * Which way each configurable field flows (Dynamics' "Synchronization Settings for Outlook or Exchange").
 */
fieldDirections?: {
/**
 * Per-field directions; fields Dynamics keeps two-way are not listed.
 */
appointment?: {
/**
 * Direction of subject (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
subject?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of body (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
body?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of location (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
location?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
}
/**
 * Per-field directions; fields Dynamics keeps two-way are not listed.
 */
contact?: {
/**
 * Direction of givenName (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
givenName?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of middleName (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
middleName?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of surname (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
surname?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of jobTitle (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
jobTitle?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of companyName (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
companyName?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of department (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
department?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of email1 (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
email1?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of email2 (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
email2?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of email3 (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
email3?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of businessPhone (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
businessPhone?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of mobilePhone (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
mobilePhone?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of homePhone (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
homePhone?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of businessStreet (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
businessStreet?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of businessCity (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
businessCity?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of businessState (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
businessState?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of businessPostalCode (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
businessPostalCode?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of businessCountry (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
businessCountry?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of birthday (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
birthday?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of assistantName (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
assistantName?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of notes (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
notes?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
}
/**
 * Per-field directions; fields Dynamics keeps two-way are not listed.
 */
task?: {
/**
 * Direction of subject (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
subject?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of body (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
body?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of dueDate (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
dueDate?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of startDate (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
startDate?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of completedDate (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
completedDate?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
/**
 * Direction of percentComplete (default TwoWay). One of: TwoWay, ToExchange, ToCRM, None.
 */
percentComplete?: ("TwoWay" | "ToExchange" | "ToCRM" | "None")
}
}
}
/**
 * Process a user's mailbox only after its address is approved.
 */
requireApprovedUsers?: boolean
/**
 * Process a queue's mailbox only after its address is approved.
 */
requireApprovedQueues?: boolean
/**
 * Addresses in these domains are approved by the operator (needs the approve verb).
 * 
 * @maxItems 64
 */
autoApproveDomains?: string[]
/**
 * Which incoming messages become CRM activities, per owner kind. CRMDecides (Dynamics365 only) asks Dynamics with CheckIncomingEmail, so each user's and queue's own incoming email filtering in Dynamics applies.
 */
incomingFiltering?: {
/**
 * Filtering for user mailboxes. One of: All, RepliesToCRMEmail, FromCRMRecords, FromEmailEnabledRecords, None, CRMDecides.
 */
users?: ("All" | "RepliesToCRMEmail" | "FromCRMRecords" | "FromEmailEnabledRecords" | "None" | "CRMDecides")
/**
 * Filtering for queue mailboxes. One of: All, RepliesToCRMEmail, FromCRMRecords, FromEmailEnabledRecords, None, CRMDecides.
 */
queues?: ("All" | "RepliesToCRMEmail" | "FromCRMRecords" | "FromEmailEnabledRecords" | "None" | "CRMDecides")
}
/**
 * The tracking token added to subjects of CRM email, e.g. CRM:0001001.
 */
trackingToken?: {
/**
 * Add and recognise tracking tokens.
 */
enabled?: boolean
/**
 * Token prefix: letters and digits, such as CRM.
 */
prefix?: string
/**
 * Base number that keeps tokens of several deployments apart.
 */
deploymentBase?: number
/**
 * Digits for the user number.
 */
userDigits?: number
/**
 * Digits for the per-user counter.
 */
counterDigits?: number
}
/**
 * Email correlation: which CRM email an incoming message answers, in the order Dynamics uses: In-Reply-To, then the tracking token in the subject (resolved by the CRM), then References, then the Thread-Index conversation (Outlook and Exchange keep it in replies; the operator writes one into every email it sends).
 */
correlation?: {
/**
 * Correlate replies with CRM email by headers.
 */
enabled?: boolean
}
/**
 * Mail between the organization's own users and queues: the addresses of this Deployment's Mailboxes.
 */
internalEmail?: {
/**
 * Do not track incoming mail whose sender is one of this Deployment's mailboxes: mail between colleagues (Dynamics: ignoreinternalemail).
 */
ignore?: boolean
/**
 * While ignore is true, still track internal mail that a queue's mailbox receives, so a request a colleague sends to a queue is not lost (Dynamics: DoNotIgnoreInternalEmailToQueues, on by default).
 */
trackToQueues?: boolean
}
/**
 * Also track the mail in each mailbox's Sent Items (IMAP: the folder marked \Sent; EWS and Graph: Sent Items) with the owner's filtering method applied to the recipients, so mail written outside the CRM becomes an activity too (Dynamics: AutoTrackSentFolderItems). Mail the CRM sent itself is recognised by its Message-ID and not tracked twice.
 */
trackSentItems?: boolean
/**
 * Largest attachment taken into the CRM. A quantity such as 25Mi, 10M or 1048576 (bytes).
 */
maxAttachmentSize?: string
/**
 * Where the incoming sync of a new mailbox starts, for mailboxes that set no spec.processEmailReceivedAfter of their own.
 */
firstSync?: {
/**
 * Take mail received up to this long before the mailbox's first successful test (status.firstSuccessfulTestTime), e.g. 24h as Microsoft's migration guidance advises; older mail is left alone. Unset: the whole Inbox, unless the profile sets processEmailReceivedAfter. A duration such as 30s, 5m or 1h30m.
 */
since?: string
}
/**
 * How transient failures (unreachable servers, timeouts, throttling, 5xx) of this organization's mailboxes are retried, in Test and Enable and during sync alike (Dynamics: MaxMailboxTransientFailures and MailboxBackoffOnTransientError).
 */
retryPolicy?: {
/**
 * Transient failures in a row, counted on the back-off schedule, after which a direction is disabled with TooManyTransientFailures (Dynamics: MaxMailboxTransientFailures).
 */
maxTransientFailures?: number
/**
 * Wait after the first transient failure; it doubles with each further one, up to maxBackoff (Dynamics: MailboxBackoffOnTransientError). A duration such as 30s, 5m or 1h30m.
 */
backoff?: string
/**
 * Longest wait between two transient failures counted against the budget. A duration such as 30s, 5m or 1h30m.
 */
maxBackoff?: string
/**
 * After the budget ran out, a disabled direction is tested again after this long, then at doubling intervals up to maxProbeInterval, and re-enabled by itself when a test passes. A duration such as 30s, 5m or 1h30m.
 */
probeInterval?: string
/**
 * Longest wait between two tests of a direction disabled by TooManyTransientFailures. A duration such as 30s, 5m or 1h30m.
 */
maxProbeInterval?: string
}
}

/**
 * DeploymentStatus is the observed state of the CRM organization.
 */
export interface DeploymentStatus {
/**
 * The metadata.generation most recently acted on by the controller.
 */
observedGeneration?: number
/**
 * Current state of the resource as standard conditions (kstatus-compatible: Ready, Reconciling, Stalled).
 * 
 * @maxItems 32
 */
conditions?: {
/**
 * Type of condition in CamelCase.
 */
type: string
/**
 * Status of the condition. One of: True, False, Unknown.
 */
status: ("True" | "False" | "Unknown")
/**
 * The .metadata.generation that the condition was set based upon.
 */
observedGeneration?: number
/**
 * Last time the condition transitioned from one status to another.
 */
lastTransitionTime: string
/**
 * A programmatic identifier for the condition's last transition, in CamelCase.
 */
reason: string
/**
 * A human readable message indicating details about the transition.
 */
message: string
}[]
/**
 * Mailbox counts.
 */
mailboxes?: {
/**
 * Mailboxes that reference this object.
 */
total?: number
/**
 * Mailboxes that are processing mail.
 */
enabled?: number
/**
 * Mailboxes with a failed direction.
 */
failing?: number
}
}
