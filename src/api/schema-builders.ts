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
}

/** A CEL rule as the API server evaluates it, with the field path its message is reported on. */
export interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

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

/** A Go-style duration ("30s", "5m", "1h30m"), bounded so CEL cost estimates stay small. */
export const duration = (description: string, extra: Extra = {}): Schema =>
  str(`${description} A duration such as 30s, 5m or 1h.`, {
    pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
    maxLength: 32,
    ...extra,
  });

/** A byte quantity in Kubernetes notation ("25Mi", "10M", "1048576"). */
export const quantity = (description: string, extra: Extra = {}): Schema =>
  str(`${description} A quantity such as 25Mi, 10M or 1048576 (bytes).`, {
    pattern: '^[0-9]+(Ki|Mi|Gi|k|K|M|G)?$',
    maxLength: 32,
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
        pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      }),
      namespace: str(
        'Not allowed: references never leave the namespace (a namespace is a tenant boundary). Present only so that a ' +
          'manifest naming another namespace is rejected with a clear message rather than silently pruned.',
        { maxLength: 63 },
      ),
    },
    {
      required: ['name'],
      rules: [
        {
          rule: '!has(self.namespace)',
          message: `cross-namespace references are not allowed: remove namespace and create the ${what} in this resource's namespace`,
          fieldPath: '.namespace',
          reason: 'FieldValueForbidden',
        },
      ],
    },
  );
}

/** A key in a Secret of the same namespace. */
export function secretKeyRef(description: string): Schema {
  const ref = localRef(description, 'Secret');
  ref.properties!.key = str('Key within the Secret.', { maxLength: 253 });
  return ref;
}

/** metav1.Condition, exactly as controller-gen renders it. */
export const conditionSchema: Schema = obj(
  'Condition contains details for one aspect of the current state of this resource (metav1.Condition).',
  {
    type: str('Type of condition in CamelCase.', {
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
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
