// Renders the CustomResourceDefinitions from the schemas in schema.ts.

import { GROUP, KINDS, VERSION, type KindInfo } from './schema.js';
import { checkRules, type Schema } from './schema-builders.js';

export const CATEGORY = 'mailsync';

/** The schema as the API server takes it: each field's checks become CEL rules on that field. */
export function forApiServer(s: Schema): Schema {
  const { 'x-mailsync-checks': checks, ...out } = s;
  if (checks?.length) out['x-kubernetes-validations'] = [...(s['x-kubernetes-validations'] ?? []), ...checkRules(checks)];
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, forApiServer(v)]));
  if (s.items) out.items = forApiServer(s.items);
  return out;
}

export function crdFor(k: KindInfo): Record<string, unknown> {
  const openAPIV3Schema: Schema = {
    type: 'object',
    description: k.description,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object' },
      spec: forApiServer(k.spec),
      status: forApiServer(k.status),
    },
    required: ['spec'],
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${k.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'mailsync-operator', 'app.kubernetes.io/part-of': 'mailsync-operator' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

export const allCrds = (): Record<string, unknown>[] => KINDS.map(crdFor);
