// Which EWS schema version to write requests for, and which Exchange a server says it is.
//
// Every EWS request names the schema it is written in (RequestServerVersion). A server accepts the
// versions it knows and refuses newer ones at schema validation: Exchange 2010 SP2 refuses
// "Exchange2013" outright. Newer servers accept every older version. So without a configured
// version the adapter writes its first request for Exchange 2010, which every supported server
// accepts, reads the ServerVersionInfo of the answer, and writes every later request for the
// server's own version.
import { ExchangeVersion } from 'ews-javascript-api';
import type { EXCHANGE_VERSIONS } from '../api/schema.js';

/** An Exchange Server version as the profile names it (spec.exchangeVersion). */
export type ExchangeProduct = (typeof EXCHANGE_VERSIONS)[number];

/** What every supported server accepts: the schema of the first request when the version is detected. */
export const OLDEST_SUPPORTED: ExchangeProduct = 'Exchange2010';

const SCHEMA: Record<ExchangeProduct, ExchangeVersion> = {
  Exchange2010: ExchangeVersion.Exchange2010,
  Exchange2010_SP1: ExchangeVersion.Exchange2010_SP1,
  Exchange2010_SP2: ExchangeVersion.Exchange2010_SP2,
  Exchange2013: ExchangeVersion.Exchange2013,
  Exchange2013_SP1: ExchangeVersion.Exchange2013_SP1,
  Exchange2016: ExchangeVersion.Exchange2016,
  // Exchange 2019 and SE have no schema of their own: they speak Exchange 2016's.
  Exchange2019: ExchangeVersion.Exchange2016,
};

/** The schema version to put in RequestServerVersion for a server of this version. */
export function schemaVersion(product: ExchangeProduct): ExchangeVersion {
  return SCHEMA[product];
}

/** Exchange 2013 and later route requests for a mailbox by X-AnchorMailbox; 2010 does not know it. */
export function usesAnchorMailbox(product: ExchangeProduct): boolean {
  return SCHEMA[product] >= ExchangeVersion.Exchange2013;
}

/** "Exchange 2010 SP2" for messages. */
export function productName(product: ExchangeProduct): string {
  return product.replace(/^Exchange(\d{4})/, 'Exchange $1').replace('_', ' ');
}

/** The numbers of an EWS ServerVersionInfo header. */
export interface ServerVersionInfo {
  MajorVersion: number;
  MinorVersion: number;
  MajorBuildNumber: number;
}

/**
 * The version a server reported, or 'older' for Exchange 2007 and before (EWS major version 8,
 * unsupported), or undefined when the answer carried no version. Exchange 2010 is 14.x (SP1 14.1,
 * SP2 14.2, SP3 14.3); 2013 is 15.0 (SP1 from build 847); 2016 is 15.1; 2019 and SE are 15.2.
 */
export function productOf(info: ServerVersionInfo | undefined): ExchangeProduct | 'older' | undefined {
  const major = info?.MajorVersion;
  if (!major || !Number.isFinite(major)) return undefined;
  const minor = info.MinorVersion || 0;
  if (major < 14) return 'older';
  if (major === 14) return minor >= 2 ? 'Exchange2010_SP2' : minor === 1 ? 'Exchange2010_SP1' : 'Exchange2010';
  if (major === 15 && minor === 0) return (info.MajorBuildNumber || 0) >= 847 ? 'Exchange2013_SP1' : 'Exchange2013';
  if (major === 15 && minor === 1) return 'Exchange2016';
  return 'Exchange2019';
}
