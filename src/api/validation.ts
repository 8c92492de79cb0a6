// ajv validators compiled from the same schemas as the CRDs, for checks outside the API server
// (no command uses them yet: tests keep them equal to the API server's checks).

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { KINDS } from './schema.js';
import { passes, type Check, type Schema } from './schema-builders.js';

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false });
for (const kw of [
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
]) {
  ajv.addKeyword({ keyword: kw });
}
for (const fmt of ['date-time', 'int64']) ajv.addFormat(fmt, true);
// The same checks, in the same order and with the same messages, as the CEL rules the CRD carries
// for them (see Check in schema-builders.ts): the first failing one is reported.
type CheckFunction = ((checks: Check[], value: string) => boolean) & { errors?: Partial<ErrorObject>[] };
const runChecks: CheckFunction = (checks, value) => {
  const failed = checks.find((c) => !passes(c, value));
  runChecks.errors = failed ? [{ keyword: 'x-mailsync-checks', message: failed.message, params: {} }] : [];
  return !failed;
};
ajv.addKeyword({ keyword: 'x-mailsync-checks', type: 'string', errors: true, validate: runChecks });

/** Unknown fields are errors here, as with kubectl's strict field validation (the API server would prune them). */
function strict(s: Schema): Schema {
  const out: Schema = { ...s };
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, strict(v)]));
    out.additionalProperties = false;
  }
  if (s.items) out.items = strict(s.items);
  return out;
}

const validators = new Map<string, ValidateFunction>(KINDS.map((k) => [k.kind, ajv.compile(strict(k.spec))]));

export interface ValidationProblem {
  field: string;
  message: string;
}

const describe = (e: ErrorObject): ValidationProblem => ({
  // The JSON pointer as the API server writes field paths: spec.a.b[0].c
  field: `spec${e.instancePath.replace(/\/([0-9]+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')}${e.keyword === 'required' ? `.${(e.params as { missingProperty: string }).missingProperty}` : ''}`,
  message:
    e.keyword === 'enum'
      ? `must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`
      : e.keyword === 'additionalProperties'
        ? `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`
        : (e.message ?? 'invalid'),
});

/** Structural validation of a spec (not the CEL rules, which the API server evaluates). */
export function validateSpec(kind: string, spec: unknown): ValidationProblem[] {
  const v = validators.get(kind);
  if (!v) return [{ field: 'kind', message: `unknown kind ${kind}` }];
  return v(spec) ? [] : (v.errors ?? []).map(describe);
}
