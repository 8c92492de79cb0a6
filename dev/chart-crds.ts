// Turns every manifest in crds/ into a Helm template of charts/mailsync-operator, so that the
// chart installs exactly what the generator wrote (cert-manager and external-secrets generate
// their chart CRDs the same way). crds/ stays the single source; the chart copies are generated
// by `make generate` (dev/sync-chart-crds.ts) and a test fails when they drift.
//
// How each file is guarded:
//   - a file whose name contains "admission" (ValidatingAdmissionPolicy and its binding):
//     `admissionPolicy.enabled`, with `helm.sh/resource-policy: keep` when `admissionPolicy.keep`;
//   - a file holding only CustomResourceDefinitions: `crds.enabled`, kept when `crds.keep`;
//   - anything else: rendered unconditionally (reported by `unguarded`).

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';

/** Where the generated templates live inside the chart. */
export const CHART_CRD_TEMPLATE_DIR = path.join('charts', 'mailsync-operator', 'templates', 'crds');

export interface Guard {
  /** The value that switches the file on, e.g. `.Values.crds.enabled`; none: always rendered. */
  enabled?: string;
  /** The value that adds `helm.sh/resource-policy: keep`. */
  keep?: string;
}

export interface ChartTemplate {
  /** File name inside CHART_CRD_TEMPLATE_DIR. */
  name: string;
  source: string;
  guard: Guard;
  content: string;
}

type Manifest = { kind?: string; metadata?: { annotations?: Record<string, string> } & Record<string, unknown> } & Record<string, unknown>;

export function guardFor(file: string, docs: Manifest[]): Guard {
  if (/admission/i.test(path.basename(file))) return { enabled: '.Values.admissionPolicy.enabled', keep: '.Values.admissionPolicy.keep' };
  if (docs.length > 0 && docs.every((d) => d.kind === 'CustomResourceDefinition'))
    return { enabled: '.Values.crds.enabled', keep: '.Values.crds.keep' };
  return {};
}

/**
 * Text inside `{{` would be read as a template action; CEL and messages may contain it, so it is
 * emitted through a string literal (Helm prints `{{` for `{{ "{{" }}`).
 */
export function escapeTemplate(text: string): string {
  return text.replace(/\{\{/g, '{{ "{{" }}');
}

/** One document as YAML, with the keep annotation inserted under metadata behind `keep`. */
function renderDoc(doc: Manifest, keep: string | undefined): string {
  const copy = structuredClone(doc);
  if (copy.metadata?.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  const lines = escapeTemplate(yaml.dump(copy, { lineWidth: -1, noRefs: true, sortKeys: false }))
    .trimEnd()
    .split('\n');
  if (!keep) return lines.join('\n');
  const meta = lines.indexOf('metadata:');
  if (meta < 0) throw new Error(`a ${doc.kind} without metadata cannot carry the keep annotation`);
  let end = meta + 1;
  while (end < lines.length && (lines[end].startsWith(' ') || lines[end] === '')) end++;
  const ann = lines.slice(meta + 1, end).indexOf('  annotations:');
  const block =
    ann >= 0
      ? [`    {{- if ${keep} }}`, '    helm.sh/resource-policy: keep', '    {{- end }}']
      : [`  {{- if ${keep} }}`, '  annotations:', '    helm.sh/resource-policy: keep', '  {{- end }}'];
  const at = ann >= 0 ? meta + 1 + ann + 1 : meta + 1;
  lines.splice(at, 0, ...block);
  return lines.join('\n');
}

/** The comment block that opens the source file (why the object exists), kept in the template. */
function leadingComment(text: string): string {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    lines.push(line);
  }
  return escapeTemplate(lines.join('\n'));
}

/** The chart template for one source file. */
export function templateFor(file: string, text: string): ChartTemplate {
  const name = path.basename(file);
  const docs = yaml.loadAll(text).filter((d): d is Manifest => !!d && typeof d === 'object');
  if (docs.length === 0) throw new Error(`${file}: no manifests`);
  const guard = guardFor(file, docs);
  const body = [leadingComment(text), docs.map((d) => renderDoc(d, guard.keep)).join('\n---\n')].filter(Boolean).join('\n');
  const header = `{{- /* Generated from crds/${name} by \`make generate\` (dev/sync-chart-crds.ts). Do not edit: change the source and regenerate. */}}`;
  const content = guard.enabled ? `${header}\n{{- if ${guard.enabled} }}\n${body}\n{{- end }}\n` : `${header}\n${body}\n`;
  return { name, source: file, guard, content };
}

/** Templates for every *.yaml / *.yml file in `crdsDir`, sorted by name. */
export async function chartTemplates(crdsDir: string): Promise<ChartTemplate[]> {
  const files = (await readdir(crdsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: ChartTemplate[] = [];
  for (const f of files) out.push(templateFor(path.join(crdsDir, f), await readFile(path.join(crdsDir, f), 'utf8')));
  return out;
}

/** Names of files that are rendered without a guard (worth a look when a new kind of file appears). */
export const unguarded = (ts: ChartTemplate[]): string[] => ts.filter((t) => !t.guard.enabled).map((t) => t.name);
