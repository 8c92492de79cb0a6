// SOAP 1.1 reading and writing for the fake EWS server: pick elements out of a request by local
// name (the client's namespace prefixes do not matter) and wrap answers in the envelopes Exchange
// sends. Element and attribute names follow the EWS schema (messages.xsd, types.xsd, errors).
// Requests are first checked for well-formedness, so that unescaped text fails here as it fails
// on Exchange.

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  messages: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  types: 'http://schemas.microsoft.com/exchange/services/2006/types',
  errors: 'http://schemas.microsoft.com/exchange/services/2006/errors',
  autodiscover: 'http://schemas.microsoft.com/exchange/2010/Autodiscover',
  addressing: 'http://www.w3.org/2005/08/addressing',
};

const ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/;

/**
 * Why `xml` is not well-formed, or undefined when it is: bare "&", invalid or unbalanced tags,
 * "<" or a bare "&" in attribute values. Strict where Exchange's parser is strict (xmldom, for one,
 * lets a bare "&" through), without being a full XML parser.
 */
export function notWellFormed(xml: string): string | undefined {
  const stack: string[] = [];
  for (const m of xml.replace(/^\s*<\?xml[^?]*\?>/, '').matchAll(/<([^>]*)>|([^<]+)/g)) {
    if (m[2] !== undefined) {
      if (ENTITY.test(m[2])) return `unescaped "&" in text near "${m[2].slice(0, 40)}"`;
      continue;
    }
    const tag = m[1];
    if (tag.startsWith('!--') || tag.startsWith('?')) continue;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (open !== tag.slice(1).trim()) return `</${tag.slice(1)}> closes <${open ?? 'nothing'}>`;
      continue;
    }
    const name = NAME.exec(tag)?.[0];
    if (!name) return `invalid element name in <${tag.slice(0, 40)}>`;
    const attrs = tag.slice(name.length).replace(/\/\s*$/, '');
    if (!/^(?:\s+[\w:.-]+\s*=\s*"[^"<]*")*\s*$/.test(attrs) || ENTITY.test(attrs)) return `invalid attributes in <${tag.slice(0, 60)}>`;
    if (!tag.endsWith('/')) stack.push(name);
  }
  return stack.length ? `<${stack.pop()}> is never closed` : undefined;
}

export { elements, first, text, type XmlElement } from '../../src/act/exchange/xml.js';

/** The operation: the local name of the first element inside soap:Body. */
export function operation(xml: string): string | undefined {
  return /<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)/.exec(xml)?.[1];
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Exchange releases the fake can answer as: the schema versions each accepts and the ServerVersionInfo it sends. */
export type ExchangeRelease = 'Exchange2010_SP2' | 'Exchange2013' | 'Exchange2016' | 'Exchange2019';

const V2010 = ['Exchange2007', 'Exchange2007_SP1', 'Exchange2010', 'Exchange2010_SP1', 'Exchange2010_SP2'];
const V2013 = [...V2010, 'Exchange2013', 'Exchange2013_SP1'];
const V2016 = [...V2013, 'Exchange2015', 'Exchange2016'];

export const RELEASES: Record<
  ExchangeRelease,
  { accepts: string[]; info: { major: number; minor: number; build: number; revision: number; version: string } }
> = {
  Exchange2010_SP2: { accepts: V2010, info: { major: 14, minor: 2, build: 247, revision: 5, version: 'Exchange2010_SP2' } },
  Exchange2013: { accepts: V2013, info: { major: 15, minor: 0, build: 1497, revision: 2, version: 'V2_23' } },
  Exchange2016: { accepts: V2016, info: { major: 15, minor: 1, build: 2507, revision: 6, version: 'V2017_07_11' } },
  Exchange2019: { accepts: V2016, info: { major: 15, minor: 2, build: 1544, revision: 4, version: 'V2017_07_11' } },
};

function serverVersion(release: ExchangeRelease): string {
  const i = RELEASES[release].info;
  return `<h:ServerVersionInfo MajorVersion="${i.major}" MinorVersion="${i.minor}" MajorBuildNumber="${i.build}" MinorBuildNumber="${i.revision}" Version="${i.version}" xmlns:h="${NS.types}" xmlns="${NS.types}"/>`;
}

/** An EWS answer: `<m:{op}Response>` with one response message per entry of `messages`, from a server of `release`. */
export function ewsResponse(op: string, messages: string[], release: ExchangeRelease = 'Exchange2019'): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="${NS.soap}"><s:Header>${serverVersion(release)}</s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><m:${op}Response xmlns:m="${NS.messages}" xmlns:t="${NS.types}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:${op}Response></s:Body></s:Envelope>`;
}

export function success(op: string, content: string): string {
  return `<m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${content}</m:${op}ResponseMessage>`;
}

/** An error in one response message (ResponseClass="Error"): the client throws ServiceResponseException. */
export function failure(op: string, code: string, messageText: string): string {
  return `<m:${op}ResponseMessage ResponseClass="Error"><m:MessageText>${escapeXml(messageText)}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:${op}ResponseMessage>`;
}

/** A SOAP fault, sent with HTTP 500, as Exchange sends ErrorServerBusy or impersonation errors. */
export function soapFault(code: string, message: string, values: Record<string, string> = {}): string {
  const messageXml = Object.keys(values).length
    ? `<t:MessageXml xmlns:t="${NS.types}">${Object.entries(values)
        .map(([name, v]) => `<t:Value Name="${name}">${escapeXml(v)}</t:Value>`)
        .join('')}</t:MessageXml>`
    : '';
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="${NS.soap}"><s:Body><s:Fault><faultcode xmlns:a="${NS.types}">a:${code}</faultcode><faultstring xml:lang="en-US">${escapeXml(message)}</faultstring><detail><e:ResponseCode xmlns:e="${NS.errors}">${code}</e:ResponseCode><e:Message xmlns:e="${NS.errors}">${escapeXml(message)}</e:Message>${messageXml}</detail></s:Fault></s:Body></s:Envelope>`;
}

/** Autodiscover GetUserSettings answer: the settings, or a per-user error such as InvalidUser. */
export function userSettingsResponse(result: { settings: Record<string, string> } | { errorCode: string; errorMessage: string }): string {
  const user =
    'settings' in result
      ? `<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>${Object.entries(
          result.settings,
        )
          .map(
            ([name, value]) => `<UserSetting i:type="StringSetting"><Name>${name}</Name><Value>${escapeXml(value)}</Value></UserSetting>`,
          )
          .join('')}</UserSettings>`
      : `<ErrorCode>${result.errorCode}</ErrorCode><ErrorMessage>${escapeXml(result.errorMessage)}</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings/>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}"><s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action><h:ServerVersionInfo xmlns:h="${NS.autodiscover}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>15</h:MajorVersion><h:MinorVersion>2</h:MinorVersion><h:MajorBuildNumber>1544</h:MajorBuildNumber><h:MinorBuildNumber>4</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo></s:Header><s:Body><GetUserSettingsResponseMessage xmlns="${NS.autodiscover}"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse>${user}</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>`;
}
