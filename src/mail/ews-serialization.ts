// Making up for what ews-javascript-api 0.15.3 gets wrong when it writes a SOAP request.
//
// It writes text and attribute values into the XML as they are, without escaping: by design, its
// maintainer says (gautamsi/ews-javascript-api#358, #368), callers must escape "any free form
// text". Unescaped, a subject with "&" makes Exchange reject the request, an HTML body turns into
// XML elements, and a crafted subject could inject elements (recipients!) into the request. Every
// string this project hands the library therefore goes through xmlText().
//
// It also serializes an ExtendedPropertyDefinition with util.isNullOrUndefined,
// which Node 23 removed: on Node 24 every CreateItem carrying an extended property throws
// "isNullOrUndefined is not a function" before anything is sent. This subclass writes the same
// attributes (EWS types.xsd, PathToExtendedFieldType) without it, instead of patching node:util
// for the whole process.
import { DefaultExtendedPropertySet, ExtendedPropertyDefinition, MapiPropertyType } from 'ews-javascript-api';

/** Escapes a string for an XML text node or a double-quoted attribute value. */
export function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

interface AttributeWriter {
  WriteAttributeValue(name: string, value: unknown): void;
}

/** The base class's private fields, read to serialize them as it would. */
interface DefinitionFields {
  propertySet?: DefaultExtendedPropertySet | null;
  propertySetId?: { ToString(): string } | null;
  tag?: number | null;
  name?: string | null;
  id?: number | null;
  mapiType: MapiPropertyType;
}

class NodeSafeExtendedPropertyDefinition extends ExtendedPropertyDefinition {
  /** Called by the library when it writes `<t:ExtendedFieldURI .../>`. */
  WriteAttributesToXml(writer: AttributeWriter): void {
    const f = this as unknown as DefinitionFields;
    if (f.propertySet !== undefined && f.propertySet !== null)
      writer.WriteAttributeValue('DistinguishedPropertySetId', DefaultExtendedPropertySet[f.propertySet]);
    if (f.propertySetId) writer.WriteAttributeValue('PropertySetId', f.propertySetId.ToString());
    if (f.tag) writer.WriteAttributeValue('PropertyTag', f.tag);
    if (f.name) writer.WriteAttributeValue('PropertyName', f.name);
    if (f.id) writer.WriteAttributeValue('PropertyId', f.id);
    writer.WriteAttributeValue('PropertyType', MapiPropertyType[f.mapiType]);
  }
}

/** A string MAPI property by tag, e.g. 0x1035 (PidTagInternetMessageId). */
export function mapiStringProperty(tag: number): ExtendedPropertyDefinition {
  return new NodeSafeExtendedPropertyDefinition(tag, MapiPropertyType.String);
}

/** A custom Internet header (PS_INTERNET_HEADERS named property), sent as a header of the message. */
export function internetHeaderProperty(name: string): ExtendedPropertyDefinition {
  return new NodeSafeExtendedPropertyDefinition(DefaultExtendedPropertySet.InternetHeaders, name, MapiPropertyType.String);
}
