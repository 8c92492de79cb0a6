// Kubernetes names for Dataverse rows: deterministic (the same organization gives the same names
// on every run) and unique within a kind. A mailbox is named after its address
// (ann@contoso.example -> ann.contoso.example), a profile after its name; when two rows would get
// the same name, each of them gets a suffix from its Dataverse id, so the names stay stable as
// long as the rows do.

import { createHash } from 'node:crypto';

/** A DNS-1123 subdomain (what metadata.name of these kinds and of Secrets must be), lower case. */
export function subdomainName(text: string, max = 200): string {
  const segments = text
    .toLowerCase()
    .replace(/@/g, '.')
    .split('.')
    .map((s) => s.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter(Boolean);
  return trimTo(segments.join('.'), max) || 'unnamed';
}

/** A DNS-1123 label (no dots), lower case: for names people type, such as profiles. */
export function labelName(text: string, max = 63): string {
  return (
    trimTo(
      text
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, ''),
      max,
    ) || 'unnamed'
  );
}

function trimTo(name: string, max: number): string {
  return name.slice(0, max).replace(/[-.]+$/, '');
}

/** Names by id: the base name where it is unique, else the base name with a suffix from the id. */
export function uniqueNames(items: { id: string; base: string }[], max = 200): Map<string, string> {
  const count = new Map<string, number>();
  for (const i of items) count.set(i.base, (count.get(i.base) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const i of items) {
    const suffix = createHash('sha256').update(i.id.toLowerCase()).digest('hex').slice(0, 6);
    out.set(i.id, count.get(i.base)! > 1 ? `${trimTo(i.base, max - 7)}-${suffix}` : i.base);
  }
  return out;
}

/** Code-unit order, the same on every machine and locale (localeCompare is not). */
export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
