// Which Exchange a ServerVersionInfo names, and which schema version each is written for.
import { ExchangeVersion } from 'ews-javascript-api';
import { productName, productOf, schemaVersion, usesAnchorMailbox } from '../../../src/mail/ews-version.js';

test.each([
  [8, 3, 83, 'older'],
  [14, 0, 639, 'Exchange2010'],
  [14, 1, 218, 'Exchange2010_SP1'],
  [14, 2, 247, 'Exchange2010_SP2'],
  [14, 3, 123, 'Exchange2010_SP2'],
  [15, 0, 516, 'Exchange2013'],
  [15, 0, 1497, 'Exchange2013_SP1'],
  [15, 1, 2507, 'Exchange2016'],
  [15, 2, 1544, 'Exchange2019'],
] as const)('version %i.%i build %i is %s', (MajorVersion, MinorVersion, MajorBuildNumber, product) => {
  expect(productOf({ MajorVersion, MinorVersion, MajorBuildNumber })).toBe(product);
});

test('an answer without a version says nothing', () => {
  expect(productOf(undefined)).toBeUndefined();
  expect(productOf({ MajorVersion: NaN, MinorVersion: 0, MajorBuildNumber: 0 })).toBeUndefined();
});

test('Exchange 2019 is written for the 2016 schema; the anchor header is for 2013 and later', () => {
  expect(schemaVersion('Exchange2019')).toBe(ExchangeVersion.Exchange2016);
  expect(schemaVersion('Exchange2010_SP2')).toBe(ExchangeVersion.Exchange2010_SP2);
  expect(usesAnchorMailbox('Exchange2010_SP2')).toBe(false);
  expect(usesAnchorMailbox('Exchange2013')).toBe(true);
  expect(productName('Exchange2010_SP2')).toBe('Exchange 2010 SP2');
  expect(productName('Exchange2019')).toBe('Exchange 2019');
});
