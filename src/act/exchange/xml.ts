// Reading EWS answers: elements by local name (prefixes do not matter), their attributes and text.
// EWS answers are machine-written and regular; the ACT adapter reads a handful of known elements,
// each inside a parent it has already cut out, so same-name nesting never reaches these helpers.

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
