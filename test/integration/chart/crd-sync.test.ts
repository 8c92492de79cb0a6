// The chart's CRD templates are generated from crds/ (dev/chart-crds.ts): these tests fail when
// the copies in the chart drift from crds/, and check how the generator guards each kind of
// file (CRDs, admission policies, anything else).

import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CHART_CRD_TEMPLATE_DIR, chartTemplates } from '../../../dev/chart-crds.js';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { readManifests } from '../../../dev/crds.js';
import { CHART_DIR, ofKind, render, type Manifest } from '../../support/helm.js';

const CRDS_DIR = path.join(REPO_ROOT, 'crds');
const TEMPLATE_DIR = path.join(REPO_ROOT, CHART_CRD_TEMPLATE_DIR);

/** Plain JSON data (js-yaml builds some objects without a prototype, which deep equality sees). */
const plain = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

/** A manifest without the keep annotation the chart adds (and without annotations left empty). */
function withoutKeep(o: Manifest): Manifest {
  const copy = plain(o);
  if (copy.metadata?.annotations) {
    delete copy.metadata.annotations['helm.sh/resource-policy'];
    if (Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

describe('chart copies of crds/', () => {
  test('every file in crds/ has an up-to-date template in the chart, and nothing else is there (fix: make generate)', async () => {
    const expected = await chartTemplates(CRDS_DIR);
    const present = (await readdir(TEMPLATE_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();
    expect(present).toEqual(expected.map((t) => t.name).sort());
    for (const t of expected) {
      const actual = await readFile(path.join(TEMPLATE_DIR, t.name), 'utf8');
      if (actual !== t.content) throw new Error(`${CHART_CRD_TEMPLATE_DIR}/${t.name} differs from crds/${t.name}: run \`make generate\``);
    }
  });

  test('the chart renders exactly the objects in crds/, plus the keep annotation', async () => {
    const source = await readManifests(CRDS_DIR);
    const rendered = (await render()).filter((o) => source.some((s) => s.kind === o.kind && s.metadata?.name === o.metadata?.name));
    expect(rendered).toHaveLength(source.length);
    for (const s of source) {
      const r = rendered.find((o) => o.kind === s.kind && o.metadata?.name === s.metadata?.name)!;
      expect(r.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
      if (!isDeepStrictEqual(withoutKeep(r), plain(s)))
        throw new Error(`${s.kind} ${s.metadata?.name} rendered by the chart differs from crds/`);
    }
  });

  test('crds.keep=false drops the annotation; crds.enabled=false drops the CRDs', async () => {
    const unkept = ofKind(await render({ set: ['crds.keep=false'] }), 'CustomResourceDefinition');
    expect(unkept).toHaveLength(3);
    for (const c of unkept) expect(c.metadata?.annotations).toBeUndefined();
    expect(ofKind(await render({ set: ['crds.enabled=false'] }), 'CustomResourceDefinition')).toHaveLength(0);
  });
});

describe('the generator', () => {
  let dir: string;
  let chart: string;

  const crd = `# a comment that is not carried over
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  annotations:
    existing: yes-it-is
spec:
  group: example.com
  scope: Namespaced
  names: { kind: Widget, plural: widgets }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-validations:
            - rule: "self.metadata.name.size() < 10"
              message: "name {{ too long }}"
`;
  const admission = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: mailboxes-approval
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [mailsync.dev]
        apiVersions: ["*"]
        operations: [UPDATE]
        resources: [mailboxes/status]
  validations:
    - expression: "authorizer.group('mailsync.dev').resource('mailboxes').namespace(object.metadata.namespace).name(object.metadata.name).check('approve').allowed()"
      messageExpression: "'needs approve: ' + string(request.userInfo.username) + ' {{x}}'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: mailboxes-approval
spec:
  policyName: mailboxes-approval
  validationActions: [Deny]
`;
  const other = `apiVersion: v1
kind: ConfigMap
metadata:
  name: something-else
  namespace: default
data:
  a: b
`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-chart-gen-'));
    await writeFile(path.join(dir, 'example.com_widgets.yaml'), crd);
    await writeFile(path.join(dir, 'mailsync.dev_admission-approval.yaml'), admission);
    await writeFile(path.join(dir, 'zz-other.yaml'), other);
    chart = path.join(dir, 'chart');
    const generated = path.join(CHART_DIR, 'templates', 'crds');
    await cp(CHART_DIR, chart, { recursive: true, filter: (src) => !src.startsWith(generated) });
    const tdir = path.join(chart, 'templates', 'crds');
    await mkdir(tdir, { recursive: true });
    for (const t of await chartTemplates(dir)) await writeFile(path.join(tdir, t.name), t.content);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const names = (objs: Manifest[]) => objs.map((o) => `${o.kind}/${o.metadata?.name}`).sort();

  test('guards CRDs with crds.*, files named *admission* with admissionPolicy.*, and renders others always', async () => {
    const ts = await chartTemplates(dir);
    expect(Object.fromEntries(ts.map((t) => [t.name, t.guard]))).toEqual({
      'example.com_widgets.yaml': { enabled: '.Values.crds.enabled', keep: '.Values.crds.keep' },
      'mailsync.dev_admission-approval.yaml': { enabled: '.Values.admissionPolicy.enabled', keep: '.Values.admissionPolicy.keep' },
      'zz-other.yaml': {},
    });
    const all = await render({ chartDir: chart });
    const ours = [
      'ConfigMap/something-else',
      'CustomResourceDefinition/widgets.example.com',
      'ValidatingAdmissionPolicy/mailboxes-approval',
      'ValidatingAdmissionPolicyBinding/mailboxes-approval',
    ];
    expect(names(all).filter((n) => ours.includes(n))).toEqual(ours);
    expect(names(await render({ chartDir: chart, set: ['admissionPolicy.enabled=false'] })).filter((n) => ours.includes(n))).toEqual([
      'ConfigMap/something-else',
      'CustomResourceDefinition/widgets.example.com',
    ]);
    expect(names(await render({ chartDir: chart, set: ['crds.enabled=false'] })).filter((n) => ours.includes(n))).toEqual(
      ours.filter((n) => !n.startsWith('Custom')),
    );
  });

  test('keeps existing annotations, adds keep per value, and passes {{ through literally', async () => {
    const all = await render({ chartDir: chart });
    const c = all.find((o) => o.kind === 'CustomResourceDefinition' && o.metadata?.name === 'widgets.example.com')!;
    expect(c.metadata?.annotations).toEqual({ existing: 'yes-it-is', 'helm.sh/resource-policy': 'keep' });
    expect(c.spec.versions[0].schema.openAPIV3Schema['x-kubernetes-validations'][0].message).toBe('name {{ too long }}');
    const vap = all.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    expect(vap.metadata?.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(vap.spec.validations[0].messageExpression).toContain("' {{x}}'");
    const unkept = await render({ chartDir: chart, set: ['admissionPolicy.keep=false', 'crds.keep=false'] });
    expect(unkept.find((o) => o.kind === 'ValidatingAdmissionPolicy')!.metadata?.annotations).toBeUndefined();
    expect(
      unkept.find((o) => o.kind === 'CustomResourceDefinition' && o.metadata?.name === 'widgets.example.com')!.metadata?.annotations,
    ).toEqual({ existing: 'yes-it-is' });
    expect(all.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'something-else')!.metadata?.annotations).toBeUndefined();
  });
});
