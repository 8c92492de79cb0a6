// Which incoming messages become CRM activities: the Deployment's filtering method per owner kind
// (Dynamics' incomingemailfilteringmethod values 0-4), or CRMDecides: the CRM's own rules
// (Dynamics' CheckIncomingEmail, which applies each user's and queue's filtering in Dynamics).

import type { AddressLookup } from '../crm/types.js';

export type FilteringMethod = 'All' | 'RepliesToCRMEmail' | 'FromCRMRecords' | 'FromEmailEnabledRecords' | 'None' | 'CRMDecides';

export interface FilterInput {
  method: FilteringMethod;
  from: string;
  /** Correlation found a CRM email this one answers, or a tracking token. */
  correlated: boolean;
  lookup: (address: string) => Promise<AddressLookup>;
  /** The CRM's verdict, for CRMDecides (absent when the CRM has no rules of its own). */
  check?: () => Promise<boolean>;
}

export async function accepts(f: FilterInput): Promise<boolean> {
  switch (f.method) {
    case 'All':
      return true;
    case 'None':
      return false;
    case 'RepliesToCRMEmail':
      return f.correlated;
    case 'FromCRMRecords':
      return f.correlated || (f.from !== '' && (await f.lookup(f.from)).isCrmRecord);
    case 'FromEmailEnabledRecords':
      return f.correlated || (f.from !== '' && (await f.lookup(f.from)).isEmailEnabledRecord);
    case 'CRMDecides':
      if (!f.check) throw new Error('incomingFiltering CRMDecides needs a CRM that decides (spec.crm.type Dynamics365)');
      return f.check();
  }
}
