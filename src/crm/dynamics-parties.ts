// Which Dataverse record an email address belongs to: a contact, lead or account (a "CRM record",
// for the FromCRMRecords filter and for resolving activity parties), or a user or queue (also
// email-enabled, for FromEmailEnabledRecords). Answers are cached for a few minutes: the same
// correspondents write again and again. Addresses not cached yet are looked up together, one GET
// per table for up to 20 addresses, inside the $batch request of the emails that need them.
import { odataString } from './dynamics-odata.js';
import type { DataverseClient } from './dynamics-client.js';
import type { BatchResult } from './dynamics-batch.js';
import { rowsOf, runLookups, TtlCache, type GetRunner, type Lookup } from './dynamics-lookups.js';
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
  {
    entity: 'contact',
    entitySet: 'contacts',
    idColumn: 'contactid',
    emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'],
    crmRecord: true,
  },
  {
    entity: 'lead',
    entitySet: 'leads',
    idColumn: 'leadid',
    emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'],
    crmRecord: true,
  },
  {
    entity: 'account',
    entitySet: 'accounts',
    idColumn: 'accountid',
    emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'],
    crmRecord: true,
  },
  { entity: 'systemuser', entitySet: 'systemusers', idColumn: 'systemuserid', emailColumns: ['internalemailaddress'], crmRecord: false },
  { entity: 'queue', entitySet: 'queues', idColumn: 'queueid', emailColumns: ['emailaddress'], crmRecord: false },
];

/** Addresses per GET: 20 addresses of 3 columns keep the URL near 4 KB. */
const ADDRESSES_PER_QUERY = 20;

export interface PartyResolverOptions {
  ttlMs?: number;
  maxEntries?: number;
}

export class PartyResolver {
  private readonly cache: TtlCache<AddressOwner>;
  /** Tables this environment does not have (leads exist only with Dynamics 365 Sales). */
  private readonly missing = new Set<string>();
  /** Lookups under way, shared by concurrent callers asking for the same address. */
  private readonly inFlight = new Map<string, Promise<AddressOwner>>();

  constructor(
    private readonly client: DataverseClient,
    private readonly gets: GetRunner,
    options: PartyResolverOptions = {},
  ) {
    this.cache = new TtlCache(options.ttlMs ?? 5 * 60_000, options.maxEntries ?? 10_000);
  }

  /** Who owns this address, from the cache or one $batch request. */
  async resolve(address: string): Promise<AddressOwner> {
    const key = address.trim().toLowerCase();
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = runLookups(this.gets, [this.lookup([key])]).then(() => this.known(key));
      this.inFlight.set(key, pending);
      void pending.catch(() => undefined).finally(() => this.inFlight.delete(key));
    }
    return pending;
  }

  /** A cached answer (after the lookup ran); an address nobody has is `{}`. */
  known(address: string): AddressOwner {
    return this.cache.get(address.trim().toLowerCase()) ?? {};
  }

  /** The GETs that find the owners of the addresses not cached yet (none when all are). */
  lookup(addresses: string[]): Lookup {
    const wanted = [...new Set(addresses.map((a) => a.trim().toLowerCase()).filter((a) => a && this.cache.get(a) === undefined))];
    const chunks: string[][] = [];
    for (let i = 0; i < wanted.length; i += ADDRESSES_PER_QUERY) chunks.push(wanted.slice(i, i + ADDRESSES_PER_QUERY));
    const tables = ENTITIES.filter((e) => !this.missing.has(e.entitySet));
    const ops = chunks.flatMap((chunk) => tables.map((e) => ({ method: 'GET' as const, path: queryPath(e, chunk) })));
    return {
      ops,
      read: (results: BatchResult[]) => {
        const found = new Map<string, (PartyRecord | undefined)[]>();
        let at = 0;
        for (const chunk of chunks) {
          for (const e of tables) {
            const r = results[at++];
            for (const [address, record] of this.rows(e, chunk, r)) {
              const list = found.get(address) ?? new Array<PartyRecord | undefined>(ENTITIES.length);
              list[ENTITIES.indexOf(e)] ??= record;
              found.set(address, list);
            }
          }
        }
        for (const address of wanted) {
          const list = found.get(address) ?? [];
          const owner: AddressOwner = {
            crmRecord: list.find((r, i) => r && ENTITIES[i].crmRecord),
            internal: list.find((r, i) => r && !ENTITIES[i].crmRecord),
          };
          this.cache.set(address, owner);
        }
      },
    };
  }

  /** The records of one table's answer, by the address (of `chunk`) they have. */
  private rows(e: EntityInfo, chunk: string[], r: BatchResult): [string, PartyRecord][] {
    let rows: Record<string, unknown>[];
    try {
      rows = rowsOf<Record<string, unknown>>(this.client, r, e.entitySet);
    } catch (err) {
      // "Resource not found for the segment 'leads'": this environment has no such table.
      if (err instanceof CrmError && err.reason === 'CRMRejected' && /HTTP 404/.test(err.message)) {
        this.missing.add(e.entitySet);
        return [];
      }
      throw err;
    }
    const out: [string, PartyRecord][] = [];
    for (const row of rows) {
      const id = row[e.idColumn];
      if (typeof id !== 'string') continue;
      for (const c of e.emailColumns) {
        const v = row[c];
        if (typeof v === 'string' && chunk.includes(v.toLowerCase()))
          out.push([v.toLowerCase(), { entity: e.entity, entitySet: e.entitySet, id }]);
      }
    }
    return out;
  }
}

function queryPath(e: EntityInfo, addresses: string[]): string {
  const filter = addresses.flatMap((a) => e.emailColumns.map((c) => `${c} eq ${odataString(a)}`)).join(' or ');
  return `${e.entitySet}?$select=${[e.idColumn, ...e.emailColumns].join(',')}&$filter=${encodeURIComponent(filter)}`;
}
