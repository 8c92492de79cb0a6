// Small builders for OpenAPI v3 structural schemas. The CRDs, the TypeScript types and the ajv
// validators are all generated from schemas written with these, so every field carries a
// description (for `kubectl explain`) and the same constraints everywhere.

export interface Schema {
  type?: 'object' | 'string' | 'integer' | 'boolean' | 'array' | 'number';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: readonly string[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minItems?: number;
  additionalProperties?: boolean | Schema;
  nullable?: boolean;
  'x-kubernetes-validations'?: Rule[];
  'x-kubernetes-list-type'?: 'map' | 'set' | 'atomic';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  /** Shapes a string must have, each with its own message: see `Check`. Not part of the rendered CRD. */
  'x-mailsync-checks'?: Check[];
}

/** A CEL rule as the API server evaluates it, with the field path its message is reported on. */
export interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/**
 * One shape a string must have (`require`) or must not have (`refuse`), with the message a person
 * reads when it fails: what form is expected, with an example. A bare `pattern` would do the same
 * check, but the API server then answers with the regular expression alone. Checks are rendered as
 * CEL rules on the field (see `checkRules`) and checked by ajv with the same messages
 * (validation.ts). The pattern must mean the same in RE2 (CEL) and JavaScript: no lookaround, no
 * backreferences, no inline flags.
 */
export type Check = { require: string; message: string } | { refuse: string; message: string };

type Extra = Omit<Schema, 'type' | 'description'>;

export const str = (description: string, extra: Extra = {}): Schema => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: Extra = {}): Schema => ({ type: 'integer', description, ...extra });
export const bool = (description: string, extra: Extra = {}): Schema => ({ type: 'boolean', description, ...extra });
export const oneOf = (values: readonly string[], description: string, extra: Extra = {}): Schema => ({
  type: 'string',
  description: `${description} One of: ${values.join(', ')}.`,
  enum: values,
  ...extra,
});
export const arr = (items: Schema, description: string, extra: Extra = {}): Schema => ({
  type: 'array',
  description,
  items,
  ...extra,
});

export function obj(
  description: string,
  properties: Record<string, Schema>,
  opts: { required?: string[]; rules?: Rule[] } & Extra = {},
): Schema {
  const { required, rules, ...extra } = opts;
  const s: Schema = { type: 'object', description, properties, ...extra };
  if (required?.length) s.required = required;
  if (rules?.length) s['x-kubernetes-validations'] = rules;
  return s;
}

/** A CEL string literal holding `text` unchanged (a raw string, so regular expressions need no escaping). */
function celRaw(text: string): string {
  if (!text.includes("'")) return `r'${text}'`;
  if (!text.includes('"')) return `r"${text}"`;
  throw new Error(`cannot quote ${text} as a CEL raw string: it holds both quote characters`);
}

/** Whether `value` passes `check` (the JavaScript side of the CEL rule that `checkRules` renders). */
export function passes(check: Check, value: string): boolean {
  return 'require' in check ? new RegExp(check.require).test(value) : !new RegExp(check.refuse).test(value);
}

/**
 * The CEL rules for a field's checks. Only the first failing check is reported, as ajv does: each
 * rule also passes when an earlier check already failed, so `imaps://host:993` is reported as a URL
 * and not also as a host with a port.
 */
export function checkRules(checks: Check[]): Rule[] {
  const passing = (c: Check) => ('require' in c ? `self.matches(${celRaw(c.require)})` : `!self.matches(${celRaw(c.refuse)})`);
  const failing = (c: Check) => ('require' in c ? `!self.matches(${celRaw(c.require)})` : `self.matches(${celRaw(c.refuse)})`);
  return checks.map((c, i) => ({ rule: [...checks.slice(0, i).map(failing), passing(c)].join(' || '), message: c.message }));
}

/** A Go-style duration ("30s", "5m", "1h30m"), bounded so CEL cost estimates stay small. */
export const duration = (description: string, extra: Extra = {}): Schema =>
  str(`${description} A duration such as 30s, 5m or 1h30m.`, {
    maxLength: 32,
    'x-mailsync-checks': [
      {
        require: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
        message:
          'must be a duration such as 30s, 5m or 1h30m: numbers each followed by a unit (ms, s, m or h), without spaces; write a day as 24h',
      },
    ],
    ...extra,
  });

/** A byte quantity in Kubernetes notation ("25Mi", "10M", "1048576"). */
export const quantity = (description: string, extra: Extra = {}): Schema =>
  str(`${description} A quantity such as 25Mi, 10M or 1048576 (bytes).`, {
    maxLength: 32,
    'x-mailsync-checks': [
      {
        require: '^[0-9]+(Ki|Mi|Gi|k|K|M|G)?$',
        message:
          'must be a size such as 25Mi, 10M or 1048576: a whole number of bytes, optionally followed by Ki, Mi or Gi (powers of 1024) ' +
          'or k, M or G (powers of 1000), without a space or B (write 25MB as 25M)',
      },
    ],
    ...extra,
  });

// One DNS label (or an internationalized one: non-ASCII letters are allowed as they are).
const LABEL = '([A-Za-z0-9]|[^\\x00-\\x7F])(([-A-Za-z0-9]|[^\\x00-\\x7F])*([A-Za-z0-9]|[^\\x00-\\x7F]))?';
/** A domain of at least two labels, such as contoso.example. */
const DOMAIN = `${LABEL}(\\.${LABEL})+`;

/** A DNS domain such as contoso.example (no @, no wildcard). */
export const domainName = (description: string, extra: Extra = {}): Schema =>
  str(description, {
    maxLength: 253,
    'x-mailsync-checks': [
      { refuse: '^@', message: 'write the domain alone, without @: contoso.example, not @contoso.example' },
      {
        refuse: '\\*',
        message: 'wildcards are not supported: list each domain, such as contoso.example (subdomains are separate entries)',
      },
      {
        require: `^${DOMAIN}$`,
        message: 'must be a domain such as contoso.example: labels of letters, digits and hyphens separated by single dots',
      },
    ],
    ...extra,
  });

// The local part of an address as a dot-atom (RFC 5322): no quoted strings, no comments.
const LOCAL_CHAR = "([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\\x00-\\x7F])";

/** An email address such as ann@contoso.example: the bare address, without a display name or mailto:. */
export const emailAddress = (description: string, extra: Extra = {}): Schema =>
  str(description, {
    minLength: 3,
    maxLength: 254,
    'x-mailsync-checks': [
      { refuse: '^[Mm][Aa][Ii][Ll][Tt][Oo]:', message: 'write the address alone, without mailto: (ann@contoso.example)' },
      {
        refuse: '[<>"\\s]',
        message: 'write the bare address, such as ann@contoso.example, without a display name, quotes, angle brackets or spaces',
      },
      {
        require: `^${LOCAL_CHAR}+(\\.${LOCAL_CHAR}+)*@${DOMAIN}$`,
        message:
          'must be an email address such as ann@contoso.example: one @, no empty part between dots, and a domain with at least one dot',
      },
    ],
    ...extra,
  });

/**
 * A server's host name or IP address as the connection is made to it (no URL, no port). IPv6
 * addresses are accepted with or without brackets.
 */
export const hostName = (description: string, example: string, portField: string, examplePort: number, extra: Extra = {}): Schema =>
  str(description, {
    maxLength: 253,
    'x-mailsync-checks': [
      {
        refuse: '://',
        message: `takes a host name, not a URL: write ${example} alone (the protocol comes from serverType, TLS from tls and the port from ${portField})`,
      },
      {
        refuse: '^([^:\\[\\]]+|\\[[^\\]]*\\]):[0-9]*$',
        message: `takes the host alone: write the port in ${portField} (server: ${example}, port: ${examplePort})`,
      },
      {
        require: `^(${LABEL}(\\.${LABEL})*\\.?|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*|\\[[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\\])$`,
        message: `must be a host name (${example}), an IPv4 address (192.0.2.10) or an IPv6 address (2001:db8::1 or [2001:db8::1])`,
      },
    ],
    ...extra,
  });

/** An http(s) URL with a host; whether http:// is allowed is a rule of the object that holds it. */
export const webUrl = (description: string, example: string, optIn: string, extra: Extra = {}): Schema =>
  str(description, {
    maxLength: 2048,
    'x-mailsync-checks': [
      { require: '^https?://', message: `must be an https:// URL such as ${example} (http:// only with ${optIn}: true)` },
      {
        require: '^https?://[^\\s/?#@]+([/?#]\\S*)?$',
        message: `must be an https:// URL with a host and no spaces or user name, such as ${example}`,
      },
    ],
    ...extra,
  });

/** A reference to another object in the same namespace. Cross-namespace references are refused. */
export function localRef(description: string, what: string): Schema {
  return obj(
    `${description} References resolve in the resource's own namespace only.`,
    {
      name: str(`Name of the ${what} in the same namespace.`, {
        minLength: 1,
        maxLength: 253,
        'x-mailsync-checks': [
          {
            require: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
            message: `must be the name of a ${what}: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (such as ann-mail)`,
          },
        ],
      }),
      namespace: str(
        "Not allowed, not even naming the resource's own namespace: references always resolve in the resource's own namespace " +
          '(a namespace is a tenant boundary). Present only so that a manifest that sets it is refused with a clear message rather than silently pruned.',
        { maxLength: 63 },
      ),
    },
    {
      required: ['name'],
      rules: [
        {
          rule: '!has(self.namespace)',
          message: `remove namespace: references always resolve in this resource's own namespace, so namespace is not accepted (not even this resource's own); create the ${what} in this namespace`,
          fieldPath: '.namespace',
          reason: 'FieldValueForbidden',
        },
      ],
    },
  );
}

/** A key in a Secret (or ConfigMap) of the same namespace. */
export function secretKeyRef(description: string, what: 'Secret' | 'ConfigMap' = 'Secret'): Schema {
  const ref = localRef(description, what);
  ref.properties!.key = str(`Key within the ${what}.`, {
    maxLength: 253,
    'x-mailsync-checks': [
      { require: '^[-._a-zA-Z0-9]+$', message: `must be a key of the ${what}: letters, digits, '-', '_' and '.', such as ca.crt` },
    ],
  });
  return ref;
}

/** metav1.Condition, exactly as controller-gen renders it. */
export const conditionSchema: Schema = obj(
  'Condition contains details for one aspect of the current state of this resource (metav1.Condition).',
  {
    type: str('Type of condition in CamelCase.', {
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: oneOf(['True', 'False', 'Unknown'], 'Status of the condition.'),
    observedGeneration: int('The .metadata.generation that the condition was set based upon.', {
      minimum: 0,
      format: 'int64',
    }),
    lastTransitionTime: str('Last time the condition transitioned from one status to another.', {
      format: 'date-time',
    }),
    reason: str("A programmatic identifier for the condition's last transition, in CamelCase.", {
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: str('A human readable message indicating details about the transition.', { maxLength: 32768 }),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

export const conditionsSchema: Schema = arr(
  conditionSchema,
  'Current state of the resource as standard conditions (kstatus-compatible: Ready, Reconciling, Stalled).',
  { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], maxItems: 32 },
);

export const observedGeneration: Schema = int('The metadata.generation most recently acted on by the controller.', {
  format: 'int64',
});
