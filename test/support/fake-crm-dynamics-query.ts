// Queries the Dataverse fake understands, read strictly: OData $filter (comparisons eq/ne of a
// column with a literal, and/or, parentheses) and FetchXML (the subset BackgroundSendEmail gets:
// attributes, an "and" filter of eq/in conditions, order, top), parsed as XML so a query that is
// not well-formed (an unescaped & or < in an address) is refused as Dataverse refuses it.
import { DOMParser } from '@xmldom/xmldom';

type Row = Record<string, unknown>;

type Token = { kind: 'open' | 'close' } | { kind: 'string'; value: string } | { kind: 'word'; value: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\()|(\))|'((?:[^']|'')*)'|([A-Za-z0-9_.:-]+))/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < filter.length && (m = re.exec(filter))) {
    if (m[1]) tokens.push({ kind: 'open' });
    else if (m[2]) tokens.push({ kind: 'close' });
    else if (m[3] !== undefined) tokens.push({ kind: 'string', value: m[3].replace(/''/g, "'") });
    else tokens.push({ kind: 'word', value: m[4] });
  }
  if (re.lastIndex < filter.trimEnd().length) throw new Error(`unexpected text at ${re.lastIndex}`);
  return tokens;
}

/** An OData $filter as a predicate; string comparisons are case-insensitive, as Dataverse's collation. */
export function parseFilter(filter: string): (r: Row) => boolean {
  const tokens = tokenize(filter);
  let i = 0;
  const word = (w: string): boolean => {
    const t = tokens[i];
    if (t?.kind === 'word' && t.value === w) {
      i++;
      return true;
    }
    return false;
  };
  const or = (): ((r: Row) => boolean) => {
    const parts = [and()];
    while (word('or')) parts.push(and());
    return (r) => parts.some((p) => p(r));
  };
  const and = (): ((r: Row) => boolean) => {
    const parts = [primary()];
    while (word('and')) parts.push(primary());
    return (r) => parts.every((p) => p(r));
  };
  const primary = (): ((r: Row) => boolean) => {
    if (tokens[i]?.kind === 'open') {
      i++;
      const inner = or();
      if (tokens[i++]?.kind !== 'close') throw new Error('missing )');
      return inner;
    }
    const column = tokens[i++];
    if (column?.kind !== 'word') throw new Error('expected a column name');
    const op = tokens[i++];
    if (op?.kind !== 'word' || (op.value !== 'eq' && op.value !== 'ne')) throw new Error(`unsupported operator after ${column.value}`);
    const literal = literalValue(tokens[i++]);
    const eq = (r: Row): boolean => {
      const v = r[column.value];
      if (literal instanceof Date) return typeof v === 'string' && Date.parse(v) === literal.getTime();
      if (typeof v === 'string' && typeof literal === 'string') return v.toLowerCase() === literal.toLowerCase();
      return (v ?? null) === literal;
    };
    return op.value === 'eq' ? eq : (r) => !eq(r);
  };
  const result = or();
  if (i !== tokens.length) throw new Error('unexpected trailing tokens');
  return result;
}

function literalValue(t: Token | undefined): unknown {
  if (!t || !('value' in t)) throw new Error('expected a value');
  if (t.kind === 'string') return t.value;
  if (t.value === 'true') return true;
  if (t.value === 'false') return false;
  if (t.value === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(t.value)) return Number(t.value);
  // A date-and-time literal (unquoted, as OData writes it), compared as an instant.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(t.value)) return new Date(t.value);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t.value)) return t.value.toLowerCase();
  throw new Error(`unexpected word ${t.value}`);
}

export interface FetchQuery {
  entity: string;
  attributes: string[];
  predicate: (r: Row) => boolean;
  order?: { attribute: string; descending: boolean };
  top?: number;
}

/** FetchXML, the subset above; throws for XML that is not well-formed or an unsupported element. */
export function parseFetchXml(xml: string): FetchQuery {
  const errors: string[] = [];
  const doc = new DOMParser({ errorHandler: (level, msg) => void (level !== 'warning' && errors.push(msg)) }).parseFromString(
    xml,
    'text/xml',
  );
  if (errors.length || !doc.documentElement || doc.documentElement.nodeName !== 'fetch')
    throw new Error(`The FetchXML is not valid: ${errors[0] ?? 'no <fetch> element'}`);
  const fetch = doc.documentElement;
  const entity = child(fetch, 'entity');
  if (!entity) throw new Error('The FetchXML has no <entity>.');
  const attributes: string[] = [];
  const conditions: ((r: Row) => boolean)[] = [];
  let order: FetchQuery['order'];
  for (const node of elements(entity)) {
    if (node.nodeName === 'attribute') attributes.push(node.getAttribute('name') ?? '');
    else if (node.nodeName === 'order')
      order = { attribute: node.getAttribute('attribute') ?? '', descending: node.getAttribute('descending') === 'true' };
    else if (node.nodeName === 'filter') {
      if ((node.getAttribute('type') ?? 'and') !== 'and') throw new Error('The fake reads only filter type "and".');
      for (const c of elements(node)) conditions.push(condition(c));
    } else throw new Error(`The fake does not read <${node.nodeName}> in FetchXML.`);
  }
  const top = fetch.getAttribute('top');
  return {
    entity: entity.getAttribute('name') ?? '',
    attributes,
    predicate: (r) => conditions.every((c) => c(r)),
    order,
    top: top ? Number(top) : undefined,
  };
}

function condition(c: Element): (r: Row) => boolean {
  if (c.nodeName !== 'condition') throw new Error(`The fake does not read <${c.nodeName}> in a filter.`);
  const attribute = c.getAttribute('attribute') ?? '';
  const operator = c.getAttribute('operator');
  const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : typeof v === 'boolean' ? (v ? '1' : '0') : String(v ?? ''));
  if (operator === 'eq') {
    const value = (c.getAttribute('value') ?? '').toLowerCase();
    return (r) => norm(r[attribute]) === value;
  }
  if (operator === 'in') {
    const values = new Set(elements(c).map((v) => (v.textContent ?? '').toLowerCase()));
    return (r) => values.has(norm(r[attribute]));
  }
  throw new Error(`The fake does not read the FetchXML operator ${operator}.`);
}

function elements(parent: Element): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as unknown as Element);
  return out;
}

function child(parent: Element, name: string): Element | undefined {
  return elements(parent).find((e) => e.nodeName === name);
}
