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


const SERVER_VERSION = `<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11" xmlns:h="${NS.types}" xmlns="${NS.types}"/>`;

/** An EWS answer: `<m:{op}Response>` with one response message per entry of `messages`. */
export function ewsResponse(op: string, messages: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="${NS.soap}"><s:Header>${SERVER_VERSION}</s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><m:${op}Response xmlns:m="${NS.messages}" xmlns:t="${NS.types}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:${op}Response></s:Body></s:Envelope>`;
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
    ? `<t:MessageXml xmlns:t="${NS.types}">${Object.entries(values).map(([name, v]) => `<t:Value Name="${name}">${escapeXml(v)}</t:Value>`).join('')}</t:MessageXml>`
    : '';
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="${NS.soap}"><s:Body><s:Fault><faultcode xmlns:a="${NS.types}">a:${code}</faultcode><faultstring xml:lang="en-US">${escapeXml(message)}</faultstring><detail><e:ResponseCode xmlns:e="${NS.errors}">${code}</e:ResponseCode><e:Message xmlns:e="${NS.errors}">${escapeXml(message)}</e:Message>${messageXml}</detail></s:Fault></s:Body></s:Envelope>`;
}

/** Autodiscover GetUserSettings answer: the settings, or a per-user error such as InvalidUser. */
export function userSettingsResponse(result: { settings: Record<string, string> } | { errorCode: string; errorMessage: string }): string {
  const user =
    'settings' in result
      ? `<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>${Object.entries(result.settings)
          .map(([name, value]) => `<UserSetting i:type="StringSetting"><Name>${name}</Name><Value>${escapeXml(value)}</Value></UserSetting>`)
          .join('')}</UserSettings>`
      : `<ErrorCode>${result.errorCode}</ErrorCode><ErrorMessage>${escapeXml(result.errorMessage)}</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings/>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}"><s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action><h:ServerVersionInfo xmlns:h="${NS.autodiscover}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>15</h:MajorVersion><h:MinorVersion>2</h:MinorVersion><h:MajorBuildNumber>1544</h:MajorBuildNumber><h:MinorBuildNumber>4</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo></s:Header><s:Body><GetUserSettingsResponseMessage xmlns="${NS.autodiscover}"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse>${user}</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>`;
}
