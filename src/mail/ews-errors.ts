// Classifies what ews-javascript-api throws. The library reports EWS failures in its own types:
// a SoapFaultDetails for an HTTP error or a SOAP fault (HTTP 500: throttling, impersonation and
// mailbox errors arrive this way), and a ServiceResponseException for an error in one response
// message (ResponseClass="Error"). Both carry an EWS ResponseCode as a number of the ServiceError
// enum; the code decides the reason. Below HTTP (refused, TLS, timeout), the transport kept the
// real error, which classifyError handles as for every other protocol.
import { ServiceError, ServiceResponseException, SoapFaultDetails } from 'ews-javascript-api';
import { safeServerText } from '../util/redact.js';
import { classifyError, type ErrorContext } from './errors.js';
import type { EwsCall } from './ews-transport.js';
import { MailError, type FailureReason } from './types.js';

/** What an EWS failure says about itself, pulled out of the library's exception types. */
export interface EwsFault {
  /** EWS ResponseCode name, e.g. ErrorServerBusy. */
  code?: string;
  httpStatus?: number;
  /** The server's BackOffMilliseconds (throttling). */
  backOffMs?: number;
  retryAfterMs?: number;
  /** The server's message: for debug logs only, through safeServerText. */
  serverText?: string;
}

type CodeRule = { reason: FailureReason; codes: string[]; say: string; hint: string };

/** A server refusing the RequestServerVersion of a request (see ews-version.ts). */
const VERSION_CODES = ['ErrorInvalidServerVersion', 'ErrorIncorrectSchemaVersion'];
/** What to do about it when the version was configured; EwsAdapter says what applies when it was detected. */
export const VERSION_HINT =
  "set the profile's spec.exchangeVersion to the server's Exchange version (Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016 or Exchange2019), or remove it so that the version is detected";

const CHECK_CREDENTIALS = 'check the username and the password or token in the credentials Secret';

/** EWS response codes by what they mean for the mailbox. */
const CODE_RULES: CodeRule[] = [
  {
    reason: 'Throttled',
    codes: ['ErrorServerBusy', 'ErrorTooManyObjectsOpened'],
    say: 'the server is throttling this account',
    hint: 'it is retried after the back-off the server asked for',
  },
  // About the mailbox, not the message: an email waits for the quota instead of failing.
  {
    reason: 'Throttled',
    codes: ['ErrorSubmissionQuotaExceeded', 'ErrorQuotaExceeded'],
    say: 'the mailbox is over a quota (its sending quota, or full)',
    hint: 'the email stays pending and is retried with back-off; check the mailbox in Exchange if it lasts',
  },
  {
    reason: 'AuthenticationFailed',
    codes: ['ErrorImpersonateUserDenied', 'ErrorImpersonationDenied', 'ErrorImpersonationFailed'],
    say: 'the service account may not impersonate this mailbox',
    hint: 'grant the ApplicationImpersonation role to the service account for this mailbox, or use credentials from the mailbox',
  },
  {
    reason: 'AuthenticationFailed',
    codes: ['ErrorAccessDenied', 'ErrorDelegateNoUser', 'ErrorNotDelegate'],
    say: 'the account has no access to this mailbox',
    hint: 'grant the account full access or delegate rights, or enable impersonation on the profile',
  },
  {
    reason: 'SendAsDenied',
    codes: ['ErrorSendAsDenied'],
    say: 'the account may not send as or on behalf of this sender',
    hint: "grant Send As or Send on Behalf in Exchange, or change the profile's send mode",
  },
  {
    reason: 'AuthenticationFailed',
    codes: ['ErrorAccountDisabled', 'ErrorPasswordExpired', 'ErrorPasswordChangeRequired'],
    say: 'the account cannot log in',
    hint: CHECK_CREDENTIALS,
  },
  {
    reason: 'MailboxNotFound',
    codes: [
      'ErrorNonExistentMailbox',
      'ErrorInvalidSmtpAddress',
      'ErrorInvalidMailbox',
      'ErrorMissingEmailAddress',
      'ErrorMailboxNotFound',
      'ErrorFolderNotFound',
    ],
    say: 'the mailbox does not exist on this server',
    hint: 'check the email address and that the mailbox is hosted on this Exchange organization',
  },
  {
    reason: 'ServerError',
    codes: ['ErrorMailboxMoveInProgress', 'ErrorMailboxStoreUnavailable', 'ErrorInternalServerTransientError', 'ErrorConnectionFailed'],
    say: 'the mailbox is temporarily unavailable',
    hint: 'it is retried with back-off',
  },
  {
    reason: 'MessageRejected',
    codes: ['ErrorInvalidRecipients', 'ErrorMessageSizeExceeded', 'ErrorInvalidRecipientSubfilter'],
    say: 'the server refused this message',
    hint: 'the message is not retried; check the recipients and the size',
  },
  {
    reason: 'UnsupportedConfiguration',
    codes: VERSION_CODES,
    say: 'the server does not accept the EWS schema version of the request',
    hint: VERSION_HINT,
  },
];

/** Reads code, HTTP status and back-off from whatever the library threw. */
export function ewsFault(err: unknown): EwsFault {
  const fault: EwsFault = {};
  if (err instanceof SoapFaultDetails) {
    const f = err as unknown as {
      ResponseCode?: number;
      ErrorCode?: number;
      HttpStatusCode?: number;
      ErrorDetails?: DictionaryLike;
      Message?: string;
    };
    // The library's defaults (NoError, and ErrorInternalServerError for codes it does not know) say nothing.
    fault.code = codeName(f.ResponseCode) ?? codeName(f.ErrorCode);
    // Exchange checks RequestServerVersion at schema validation: an unknown version is a schema
    // violation of the Version attribute, not a code of its own.
    if (
      fault.code === 'ErrorSchemaValidation' &&
      typeof f.Message === 'string' &&
      /ExchangeVersionType|RequestServerVersion/i.test(f.Message)
    )
      fault.code = 'ErrorInvalidServerVersion';
    if (typeof f.HttpStatusCode === 'number' && f.HttpStatusCode > 0) fault.httpStatus = f.HttpStatusCode;
    fault.backOffMs = backOff(f.ErrorDetails);
    // For an HTTP error without a SOAP body the "message" is the transport's or an HTTP header's.
    if (fault.httpStatus === 500 && typeof f.Message === 'string') fault.serverText = f.Message;
  } else if (err instanceof ServiceResponseException) {
    fault.code = codeName(err.ErrorCode);
    fault.backOffMs = backOff(err.Response?.ErrorDetails as DictionaryLike | undefined);
    fault.serverText = err.Message;
  }
  return fault;
}

/**
 * The MailError for a failed EWS call. `call` is what the transport recorded during it; `ctx`
 * names the protocol, the server and the secrets to keep out of the message.
 */
export function classifyEwsError(
  err: unknown,
  call: EwsCall,
  ctx: ErrorContext,
  what: string,
  opts: { versionHint?: string } = {},
): MailError {
  if (err instanceof MailError) return classifyError(err, ctx);
  if (call.transportError !== undefined) return classifyError(call.transportError, ctx);
  const fault = ewsFault(err);
  // The transport saw the real status and Retry-After; the library keeps neither reliably.
  fault.httpStatus = call.httpStatus ?? fault.httpStatus;
  fault.retryAfterMs = call.retryAfterMs;
  return classifyEwsFault(fault, ctx, what, err, opts);
}

/** The MailError for an EWS fault already read (a response code, an HTTP status, a back-off). */
export function classifyEwsFault(
  fault: EwsFault,
  ctx: ErrorContext,
  what: string,
  err: unknown,
  opts: { versionHint?: string } = {},
): MailError {
  const where = [ctx.protocol ?? 'EWS', ctx.server].filter(Boolean).join(' ');
  const rule = fault.code ? CODE_RULES.find((r) => r.codes.includes(fault.code!)) : undefined;
  if (rule)
    return composed(
      rule.reason,
      `${where}: ${rule.say} while ${what} (${fault.code})`,
      fault,
      ctx,
      (rule.hint === VERSION_HINT && opts.versionHint) || rule.hint,
      err,
    );
  if (fault.httpStatus === 404) {
    return composed(
      'UnsupportedConfiguration',
      `${where}: there is no EWS endpoint at this URL (HTTP 404) while ${what}`,
      fault,
      ctx,
      'check the EWS URL (usually https://<server>/EWS/Exchange.asmx) or the autodiscover settings',
      err,
    );
  }
  if (fault.httpStatus !== undefined && fault.httpStatus >= 400 && (fault.httpStatus !== 500 || !fault.code)) {
    // 401/403, 429/503, a 500 without a SOAP fault: they mean what they mean for any HTTP service.
    return classifyError(
      Object.assign(new Error(`HTTP ${fault.httpStatus}`), { status: fault.httpStatus, retryAfterMs: fault.retryAfterMs, cause: err }),
      ctx,
    );
  }
  if (fault.code) {
    return composed(
      'ServerError',
      `${where}: the server failed while ${what} (${fault.code})`,
      fault,
      ctx,
      'it is retried with back-off',
      err,
    );
  }
  // A library error without an EWS code: a response it could not read, or a bug.
  return composed(
    'ProtocolError',
    `${where}: the answer could not be understood while ${what}`,
    fault,
    ctx,
    'it is retried with back-off; if it persists the server may be incompatible',
    err,
  );
}

function composed(reason: FailureReason, said: string, fault: EwsFault, ctx: ErrorContext, hint: string, cause: unknown): MailError {
  let message = said;
  const retryAfterMs = fault.backOffMs ?? fault.retryAfterMs;
  if (retryAfterMs !== undefined) message += `; retry after ${Math.ceil(retryAfterMs / 1000)} s`;
  message += `; ${hint}`;
  const serverText = safeServerText(fault.serverText, ctx.secrets);
  return classifyError(new MailError(reason, message, { retryAfterMs, cause, serverText }), ctx);
}

type DictionaryLike = { containsKey?: (k: string) => boolean; get?: (k: string) => unknown };

function backOff(details: DictionaryLike | undefined): number | undefined {
  if (!details?.containsKey?.('BackOffMilliseconds')) return undefined;
  const ms = Number(details.get?.('BackOffMilliseconds'));
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function codeName(code: unknown): string | undefined {
  if (typeof code !== 'number') return undefined;
  const name = (ServiceError as unknown as Record<number, string>)[code];
  return name && name !== 'ErrorInternalServerError' && name !== 'NoError' ? name : undefined;
}
