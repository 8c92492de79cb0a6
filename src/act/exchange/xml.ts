// Reading EWS answers: elements by local name (prefixes do not matter), their attributes and text.
// EWS answers are machine-written and regular; the ACT adapter reads a handful of known elements,
// each inside a parent it has already cut out, so same-name nesting never reaches these helpers.
// Also the property paths requests name (FieldURI, IndexedFieldURI).

export interface XmlElement {
  attrs: Record<string, string>;
  inner: string;
}

export function elements(xml: string, localName: string): XmlElement[] {
  const re = new RegExp(`<(?:[\\w-]+:)?${localName}(\\s[^>]*?)?(?:/>|>([\\s\\S]*?)</(?:[\\w-]+:)?${localName}>)`, 'g');
  return [...xml.matchAll(re)].map((m) => ({ attrs: attributes(m[1] ?? ''), inner: m[2] ?? '' }));
}

export function first(xml: string, localName: string): XmlElement | undefined {
  return elements(xml, localName)[0];
}

export function text(xml: string, localName: string): string | undefined {
  const e = first(xml, localName);
  return e ? unescapeXml(e.inner.trim()) : undefined;
}

function attributes(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of source.matchAll(/([\w:-]+)="([^"]*)"/g)) out[m[1].replace(/^[\w-]+:/, '')] = unescapeXml(m[2]);
  return out;
}

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

/** The entries of an EWS dictionary property (EmailAddresses, PhoneNumbers, PhysicalAddresses) by Key: their inner XML. */
export function entries(xml: string | undefined, dictionary: string): Map<string, string> {
  return new Map(elements(first(xml ?? '', dictionary)?.inner ?? '', 'Entry').map((e) => [e.attrs.Key ?? '', e.inner]));
}

/** An EWS dateTime as UTC ISO without milliseconds; null when absent or not a time. */
export function isoTime(v: string | undefined): string | null {
  if (!v) return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

/** A property path: `<t:FieldURI FieldURI="item:Subject"/>`. */
export const fieldUri = (name: string): string => `<t:FieldURI FieldURI="${name}"/>`;
/** An entry of a dictionary property: `<t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress1"/>`. */
export const indexedUri = (name: string, index: string): string => `<t:IndexedFieldURI FieldURI="${name}" FieldIndex="${index}"/>`;
