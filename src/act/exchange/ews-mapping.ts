// What differs between the kinds of items the EWS store (ews.ts) synchronizes: one mapping per
// kind (the calendar's in ews.ts, contacts' and tasks' in ews-contacts-tasks.ts).

import type { ActKind, Fields } from '../model.js';
import type { WriteOptions } from './types.js';

/**
 * What differs between the kinds of EWS items: the folder, the item element, the properties read
 * and the XML written. The store (EwsKindStore) does the rest the same way for every kind.
 */
export interface EwsKindMapping {
  kind: ActKind;
  /** The distinguished folder id ("calendar", "contacts", "tasks"), and its name in messages. */
  folder: string;
  /** The item element (CalendarItem, Contact, Task): items of other classes in the folder are skipped. */
  element: string;
  /** One item, in messages ("appointment"). */
  noun: string;
  /** The properties GetItem asks for (the stamp is added). */
  properties: string[];
  unsupported?: string[];
  /** The item's fields; undefined to skip it (a series, a recurring task). */
  toFields(xml: string): Fields | undefined;
  /** A new item's elements in schema order: the Item ones, then the kind's (the stamp goes between them). */
  createXml(fields: Fields): { item: string; kind: string };
  /**
   * One field as an update: its property path and the element that carries the value inside the
   * item element. An empty value deletes the property. Undefined: the field is not written.
   */
  update(field: string, value: Fields[string]): EwsField | EwsField[] | undefined;
  /** Extra attributes of CreateItem / UpdateItem / DeleteItem (who is mailed; which task occurrences). */
  attrs?: { create?(o: WriteOptions): string; update?(o: WriteOptions): string; delete?(o: WriteOptions): string };
}

/** One property as an update: its path (FieldURI) and the element that carries the value. */
export interface EwsField {
  path: string;
  xml: string;
}

/** The model's importance as EWS writes it (ImportanceChoicesType). */
export const IMPORTANCE: Record<string, string> = { low: 'Low', normal: 'Normal', high: 'High' };
