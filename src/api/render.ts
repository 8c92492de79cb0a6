// Renders the generated files as text, so the generator and the drift test share one code path.

import yaml from 'js-yaml';
import { compile } from 'json-schema-to-typescript';
import { crdFor } from './crd.js';
import { KINDS } from './schema.js';
import type { Schema } from './schema-builders.js';

const HEADER = '# Generated from src/api/schema.ts by `make generate`. Do not edit.\n';

export async function renderCrdFiles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of KINDS) {
    out[`crds/mailsync.dev_${k.plural}.yaml`] = HEADER + yaml.dump(crdFor(k), { lineWidth: 120, noRefs: true, sortKeys: false });
  }
  return out;
}

/** json-schema-to-typescript does not know the Kubernetes extensions or our checks; drop them before compiling. */
function plain(s: Schema): object {
  return JSON.parse(
    JSON.stringify(s, (key, value) => (key.startsWith('x-kubernetes-') || key.startsWith('x-mailsync-') ? undefined : value)),
  );
}

export async function renderTypes(): Promise<string> {
  const parts = ['// Generated from src/api/schema.ts by `make generate`. Do not edit.\n/* eslint-disable */\n'];
  for (const k of KINDS) {
    for (const [suffix, schema] of [
      ['Spec', k.spec],
      ['Status', k.status],
    ] as const) {
      const ts = await compile(plain(schema) as never, `${k.kind}${suffix}`, {
        bannerComment: '',
        additionalProperties: false,
        declareExternallyReferenced: true,
        format: false,
        strictIndexSignatures: true,
      });
      parts.push(ts);
    }
  }
  return parts.join('\n');
}
