// Contacts and tasks in Exchange Server over EWS: how the internal fields (model.ts, the same
// names the Graph stores use) map to t:Contact and t:Task, for the EWS store (ews.ts) that
// reads and writes every kind the same way (SyncFolderItems, GetItem, ChangeKeys, the stamp).
//
//   contacts  the Contacts folder. E-mail addresses, phones and the business address are entries
//             of dictionary properties: each is read by its Key and written on its own with an
//             IndexedFieldURI (contacts:EmailAddress / EmailAddress1, contacts:PhoneNumber /
//             BusinessPhone, contacts:PhysicalAddress:Street / Business), as EWS requires; the
//             whole dictionary cannot be set. Notes are the item's text body.
//   tasks     the Tasks folder. Dates are written as UTC midnight and read as their day; status
//             is EWS's TaskStatusType in the model's camel case. Recurring tasks are skipped
//             (Dynamics does not synchronize them either). Nothing is ever assigned or mailed.
// Every field of both kinds has a place in EWS: nothing is `unsupported` here.

import { xmlText } from '../../mail/ews-serialization.js';
import type { Fields } from '../model.js';
import { IMPORTANCE, type EwsKindMapping } from './ews-mapping.js';
import { entries, fieldUri, indexedUri, text, unescapeXml } from './xml.js';

type Value = Fields[string];
const str = (v: Value) => xmlText(String(v ?? ''));
const dateTime = (v: Value) => `${String(v).slice(0, 10)}T00:00:00Z`;
const entryText = (xml: string | undefined) => (xml === undefined ? null : unescapeXml(xml.trim()) || null);

/** Contact fields held in simple properties: field → element (contacts: unless noted). */
const CONTACT_SIMPLE: Record<string, string> = {
  givenName: 'GivenName',
  middleName: 'MiddleName',
  companyName: 'CompanyName',
  assistantName: 'AssistantName',
  birthday: 'Birthday',
  department: 'Department',
  jobTitle: 'JobTitle',
  surname: 'Surname',
};
/** Entries of the EmailAddresses and PhoneNumbers dictionaries: field → entry key. */
const EMAILS: Record<string, string> = { email1: 'EmailAddress1', email2: 'EmailAddress2', email3: 'EmailAddress3' };
const PHONES: Record<string, string> = { businessPhone: 'BusinessPhone', homePhone: 'HomePhone', mobilePhone: 'MobilePhone' };
/** Parts of the business address, in PhysicalAddressDictionaryEntryType order. */
const ADDRESS: Record<string, string> = {
  businessStreet: 'Street',
  businessCity: 'City',
  businessState: 'State',
  businessCountry: 'CountryOrRegion',
  businessPostalCode: 'PostalCode',
};

const simpleValue = (field: string, v: Value) => (field === 'birthday' ? dateTime(v) : str(v));

function contactField(field: string, v: Value): { path: string; xml: string } | undefined {
  if (field === 'notes') return { path: fieldUri('item:Body'), xml: `<t:Body BodyType="Text">${str(v)}</t:Body>` };
  const simple = CONTACT_SIMPLE[field];
  if (simple) return { path: fieldUri(`contacts:${simple}`), xml: `<t:${simple}>${simpleValue(field, v)}</t:${simple}>` };
  if (EMAILS[field])
    return {
      path: indexedUri('contacts:EmailAddress', EMAILS[field]),
      xml: `<t:EmailAddresses><t:Entry Key="${EMAILS[field]}">${str(v)}</t:Entry></t:EmailAddresses>`,
    };
  if (PHONES[field])
    return {
      path: indexedUri('contacts:PhoneNumber', PHONES[field]),
      xml: `<t:PhoneNumbers><t:Entry Key="${PHONES[field]}">${str(v)}</t:Entry></t:PhoneNumbers>`,
    };
  const part = ADDRESS[field];
  if (part)
    return {
      path: indexedUri(`contacts:PhysicalAddress:${part}`, 'Business'),
      xml: `<t:PhysicalAddresses><t:Entry Key="Business"><t:${part}>${str(v)}</t:${part}></t:Entry></t:PhysicalAddresses>`,
    };
  return undefined;
}

export const CONTACT: EwsKindMapping = {
  kind: 'contact',
  folder: 'contacts',
  element: 'Contact',
  noun: 'contact',
  properties: [
    'item:Body',
    'item:Categories',
    ...Object.values(CONTACT_SIMPLE).map((e) => `contacts:${e}`),
    'contacts:EmailAddresses',
    'contacts:PhoneNumbers',
    'contacts:PhysicalAddresses',
  ],
  toFields(c) {
    const emails = entries(c, 'EmailAddresses');
    const phones = entries(c, 'PhoneNumbers');
    const business = entries(c, 'PhysicalAddresses').get('Business') ?? '';
    const out: Fields = { notes: text(c, 'Body') ?? null };
    for (const [f, e] of Object.entries(CONTACT_SIMPLE)) out[f] = text(c, e) ?? null;
    for (const [f, key] of Object.entries(EMAILS)) out[f] = entryText(emails.get(key));
    for (const [f, key] of Object.entries(PHONES)) out[f] = entryText(phones.get(key));
    for (const [f, part] of Object.entries(ADDRESS)) out[f] = text(business, part) ?? null;
    return out;
  },
  createXml(fields) {
    const has = (f: string) => fields[f] !== undefined && fields[f] !== null && fields[f] !== '';
    const simple = (f: string) => (has(f) ? `<t:${CONTACT_SIMPLE[f]}>${simpleValue(f, fields[f])}</t:${CONTACT_SIMPLE[f]}>` : '');
    const dictionary = (name: string, map: Record<string, string>) => {
      const list = Object.entries(map)
        .filter(([f]) => has(f))
        .map(([f, key]) => `<t:Entry Key="${key}">${str(fields[f])}</t:Entry>`);
      return list.length ? `<t:${name}>${list.join('')}</t:${name}>` : '';
    };
    const parts = Object.entries(ADDRESS)
      .filter(([f]) => has(f))
      .map(([f, part]) => `<t:${part}>${str(fields[f])}</t:${part}>`);
    const address = parts.length ? `<t:PhysicalAddresses><t:Entry Key="Business">${parts.join('')}</t:Entry></t:PhysicalAddresses>` : '';
    // ContactItemType order: FileAsMapping, GivenName, MiddleName, CompanyName, EmailAddresses,
    // PhysicalAddresses, PhoneNumbers, AssistantName, Birthday, Department, JobTitle, Surname.
    return {
      item: has('notes') ? `<t:Body BodyType="Text">${str(fields.notes)}</t:Body>` : '',
      kind: [
        '<t:FileAsMapping>LastCommaFirst</t:FileAsMapping>',
        simple('givenName'),
        simple('middleName'),
        simple('companyName'),
        dictionary('EmailAddresses', EMAILS),
        address,
        dictionary('PhoneNumbers', PHONES),
        simple('assistantName'),
        simple('birthday'),
        simple('department'),
        simple('jobTitle'),
        simple('surname'),
      ].join(''),
    };
  },
  update: contactField,
};

const STATUS: Record<string, string> = {
  notStarted: 'NotStarted',
  inProgress: 'InProgress',
  completed: 'Completed',
  waitingOnOthers: 'WaitingOnOthers',
  deferred: 'Deferred',
};
const FROM_STATUS: Record<string, string> = Object.fromEntries(Object.entries(STATUS).map(([k, v]) => [v, k]));
/** Task dates: field → element (task:). */
const TASK_DATES: Record<string, string> = { completedDate: 'CompleteDate', dueDate: 'DueDate', startDate: 'StartDate' };

function taskField(field: string, v: Value): { path: string; xml: string } | undefined {
  switch (field) {
    case 'subject':
      return { path: fieldUri('item:Subject'), xml: `<t:Subject>${str(v)}</t:Subject>` };
    case 'body':
      return { path: fieldUri('item:Body'), xml: `<t:Body BodyType="Text">${str(v)}</t:Body>` };
    case 'importance':
      return v
        ? { path: fieldUri('item:Importance'), xml: `<t:Importance>${IMPORTANCE[String(v)] ?? 'Normal'}</t:Importance>` }
        : undefined;
    case 'percentComplete':
      return typeof v === 'number'
        ? { path: fieldUri('task:PercentComplete'), xml: `<t:PercentComplete>${v}</t:PercentComplete>` }
        : undefined;
    case 'status':
      return v && STATUS[String(v)] ? { path: fieldUri('task:Status'), xml: `<t:Status>${STATUS[String(v)]}</t:Status>` } : undefined;
    default: {
      const e = TASK_DATES[field];
      return e ? { path: fieldUri(`task:${e}`), xml: `<t:${e}>${v ? dateTime(v) : ''}</t:${e}>` } : undefined;
    }
  }
}

export const TASK: EwsKindMapping = {
  kind: 'task',
  folder: 'tasks',
  element: 'Task',
  noun: 'task',
  properties: [
    'item:Subject',
    'item:Body',
    'item:Categories',
    'item:Importance',
    'task:CompleteDate',
    'task:DueDate',
    'task:IsRecurring',
    'task:PercentComplete',
    'task:StartDate',
    'task:Status',
  ],
  toFields(t) {
    if (text(t, 'IsRecurring') === 'true') return undefined;
    const percent = Number(text(t, 'PercentComplete'));
    return {
      subject: text(t, 'Subject') ?? null,
      body: text(t, 'Body') ?? null,
      dueDate: text(t, 'DueDate') ?? null,
      startDate: text(t, 'StartDate') ?? null,
      completedDate: text(t, 'CompleteDate') ?? null,
      percentComplete: text(t, 'PercentComplete') !== undefined && Number.isFinite(percent) ? percent : null,
      importance: (text(t, 'Importance') ?? 'Normal').toLowerCase(),
      status: FROM_STATUS[text(t, 'Status') ?? ''] ?? null,
    };
  },
  createXml(fields) {
    const xml = (list: string[]) =>
      list
        .filter((f) => fields[f] !== undefined && fields[f] !== null && fields[f] !== '')
        .map((f) => taskField(f, fields[f])?.xml ?? '')
        .join('');
    // TaskType order: CompleteDate, DueDate, PercentComplete, StartDate, Status.
    return {
      item: xml(['subject', 'body', 'importance']),
      kind: xml(['completedDate', 'dueDate', 'percentComplete', 'startDate', 'status']),
    };
  },
  update: taskField,
  // Deleting a task names which occurrences (required by EWS for tasks); tasks are never recurring here.
  attrs: { delete: () => ' AffectedTaskOccurrences="AllOccurrences"' },
};
