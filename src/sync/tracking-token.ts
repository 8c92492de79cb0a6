// Tracking tokens in subjects, as Dynamics writes them: "<prefix>:<base><user><counter>", e.g.
// CRM:0001001 (prefix CRM, deployment base 0, 3 user digits, 3 counter digits).

export interface TokenSettings {
  enabled: boolean;
  prefix: string;
  /** Earlier prefixes, still recognised in replies to old emails (Dynamics keeps their history). */
  previousPrefixes?: string[];
  deploymentBase: number;
  userDigits: number;
  counterDigits: number;
}

export const DEFAULT_TOKEN: TokenSettings = { enabled: true, prefix: 'CRM', deploymentBase: 0, userDigits: 3, counterDigits: 3 };

export function formatToken(s: TokenSettings, userNumber: number, counter: number): string {
  const pad = (n: number, d: number) => String(n % 10 ** d).padStart(d, '0');
  return `${s.prefix}:${s.deploymentBase}${pad(userNumber, s.userDigits)}${pad(counter, s.counterDigits)}`;
}

/** The first token with this prefix in a subject, or undefined. */
export function findToken(s: TokenSettings, subject: string): string | undefined {
  if (!s.enabled) return undefined;
  const prefix = [s.prefix, ...(s.previousPrefixes ?? [])].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return new RegExp(`(?:^|[\\s(\\[])((?:${prefix}):[0-9]{${s.userDigits + s.counterDigits + 1},})(?=$|[\\s)\\]])`).exec(subject)?.[1];
}

/** The longest subject mail servers keep (Dynamics' MaximumSubjectLengthOnMailServer). */
export const MAX_SUBJECT_LENGTH = 255;

/**
 * Appends a token to a subject unless it is already there, shortening the subject so that the
 * whole stays within `maxLength`: a server that cut the subject would cut the token off.
 */
export function withToken(subject: string, token: string, maxLength = MAX_SUBJECT_LENGTH): string {
  if (subject.includes(token)) return subject;
  const room = Math.max(0, maxLength - token.length - 1);
  const kept = [...subject].length > room ? [...subject].slice(0, room).join('').trimEnd() : subject;
  return `${kept} ${token}`.trim();
}
