// Values as they go into Dataverse URLs and columns.
import { dataverseUrls } from '../../../src/crm/dynamics.js';
import { bareMessageId, messageIdForms, odataString, recordId, storedMessageId } from '../../../src/crm/dynamics-odata.js';
import { CrmError } from '../../../src/crm/types.js';

test('OData string literals double embedded quotes', () => {
  expect(odataString("o'brien@example.com")).toBe("'o''brien@example.com'");
  expect(odataString("x' or 1 eq 1 or 'a")).toBe("'x'' or 1 eq 1 or ''a'");
});

test('record ids must be GUIDs before they go into a path', () => {
  expect(recordId('0D7C1F7E-1111-4A4A-9B9B-123456789ABC')).toBe('0d7c1f7e-1111-4a4a-9b9b-123456789abc');
  expect(() => recordId('x)/../contacts(1')).toThrow(CrmError);
});

test('Message-IDs are stored with angle brackets; over-long ones as a stable digest', () => {
  expect(storedMessageId('abc@example.com')).toBe('<abc@example.com>');
  expect(storedMessageId('<abc@example.com>')).toBe('<abc@example.com>');
  expect(bareMessageId(' <abc@example.com> ')).toBe('abc@example.com');
  expect(messageIdForms('abc@example.com')).toEqual(['<abc@example.com>', 'abc@example.com']);
  const long = `${'x'.repeat(400)}@example.com`;
  expect(storedMessageId(long)).toMatch(/^<sha256\.[0-9a-f]{64}@mailsync\.invalid>$/);
  expect(storedMessageId(long)).toBe(storedMessageId(`<${long}>`));
});

test('the Web API URL and token audience for an organization URL', () => {
  expect(dataverseUrls('https://contoso.crm4.dynamics.com/')).toEqual({
    apiUrl: 'https://contoso.crm4.dynamics.com/api/data/v9.2',
    origin: 'https://contoso.crm4.dynamics.com',
  });
  expect(dataverseUrls('https://contoso.crm.dynamics.com/api/data/v9.2')).toEqual({
    apiUrl: 'https://contoso.crm.dynamics.com/api/data/v9.2',
    origin: 'https://contoso.crm.dynamics.com',
  });
});
