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

/** Appends a token to a subject unless it is already there. */
export function withToken(subject: string, token: string): string {
  return subject.includes(token) ? subject : `${subject} ${token}`.trim();
}
