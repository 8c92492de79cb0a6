// Which incoming messages become CRM activities: the Deployment's filtering method per owner kind
// (Dynamics' incomingemailfilteringmethod values 0-4).

import type { AddressLookup } from '../crm/types.js';

export type FilteringMethod = 'All' | 'RepliesToCRMEmail' | 'FromCRMRecords' | 'FromEmailEnabledRecords' | 'None';

export interface FilterInput {
  method: FilteringMethod;
  from: string;
  /** Correlation found a CRM email this one answers, or a tracking token. */
  correlated: boolean;
  lookup: (address: string) => Promise<AddressLookup>;
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
  }
}
