// Which Dataverse record an email address belongs to: a contact, lead or account (a "CRM record",
// for the FromCRMRecords filter and for resolving activity parties), or a user or queue (also
// email-enabled, for FromEmailEnabledRecords). Answers are cached for a few minutes: the same
// correspondents write again and again, and each uncached address costs five small queries.
import { odataString } from './dynamics-odata.js';
import type { DataverseClient } from './dynamics-client.js';
import { CrmError } from './types.js';

export type PartyEntity = 'contact' | 'lead' | 'account' | 'systemuser' | 'queue';

export interface PartyRecord {
  entity: PartyEntity;
  entitySet: string;
  id: string;
}

export interface AddressOwner {
  /** The contact, lead or account with this address (in that order of preference). */
  crmRecord?: PartyRecord;
  /** The user or queue with this address. */
  internal?: PartyRecord;
}

interface EntityInfo {
  entity: PartyEntity;
  entitySet: string;
  idColumn: string;
  /** Email columns as server-side synchronization matches them. */
  emailColumns: string[];
  crmRecord: boolean;
}

/** Preference order among matches, as the first match wins. */
const ENTITIES: EntityInfo[] = [
  { entity: 'contact', entitySet: 'contacts', idColumn: 'contactid', emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'], crmRecord: true },
  { entity: 'lead', entitySet: 'leads', idColumn: 'leadid', emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'], crmRecord: true },
  { entity: 'account', entitySet: 'accounts', idColumn: 'accountid', emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'], crmRecord: true },
  { entity: 'systemuser', entitySet: 'systemusers', idColumn: 'systemuserid', emailColumns: ['internalemailaddress'], crmRecord: false },
  { entity: 'queue', entitySet: 'queues', idColumn: 'queueid', emailColumns: ['emailaddress'], crmRecord: false },
];

export interface PartyResolverOptions {
  ttlMs?: number;
  maxEntries?: number;
}

export class PartyResolver {
  private readonly cache = new Map<string, { owner: Promise<AddressOwner>; expiresAt: number }>();
  /** Tables this environment does not have (leads exist only with Dynamics 365 Sales). */
  private readonly missing = new Set<string>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly client: DataverseClient,
    options: PartyResolverOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Who owns this address; concurrent callers asking for the same address share one lookup. */
  resolve(address: string): Promise<AddressOwner> {
    const key = address.trim().toLowerCase();
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return hit.owner;
    const owner = this.lookup(key);
    this.cache.delete(key);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { owner, expiresAt: now + this.ttlMs });
    // A failed lookup is not remembered: the next caller asks again.
    owner.catch(() => this.cache.delete(key));
    return owner;
  }

  private async lookup(address: string): Promise<AddressOwner> {
    const found = await Promise.all(ENTITIES.map((e) => this.find(e, address)));
    return {
      crmRecord: found.find((r, i) => r && ENTITIES[i].crmRecord),
      internal: found.find((r, i) => r && !ENTITIES[i].crmRecord),
    };
  }

  private async find(info: EntityInfo, address: string): Promise<PartyRecord | undefined> {
    if (this.missing.has(info.entitySet)) return undefined;
    const filter = info.emailColumns.map((c) => `${c} eq ${odataString(address)}`).join(' or ');
    try {
      const rows = await this.client.list<Record<string, unknown>>(`${info.entitySet}?$select=${info.idColumn}&$filter=${encodeURIComponent(filter)}`, 1);
      const id = rows[0]?.[info.idColumn];
      return typeof id === 'string' ? { entity: info.entity, entitySet: info.entitySet, id } : undefined;
    } catch (err) {
      // "Resource not found for the segment 'leads'": this environment has no such table.
      if (err instanceof CrmError && err.reason === 'CRMRejected' && /HTTP 404/.test(err.message)) {
        this.missing.add(info.entitySet);
        return undefined;
      }
      throw err;
    }
  }
}
