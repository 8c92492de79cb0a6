// One mailbox, one organization. Two Mailbox objects with the same address (in two Deployments,
// or two namespaces the operator watches) would both sync it and duplicate every message, so an
// address belongs to one Mailbox at a time: the oldest, unless another sets spec.takeOverAddress
// (as Dynamics' "Sync items with Exchange from this org only" moves a mailbox to the organization
// that asks). The others are not enabled and say which Mailbox holds the address (AddressInUse),
// until it goes, changes its address, or is overtaken.
//
// Taking an address over from another namespace (another tenant) stops that tenant's mailbox, so
// across namespaces it takes effect only once the address is approved on the taking mailbox: an
// approver's decision, not a mailbox author's.
//
// The claim is on email: a Mailbox that syncs no mail (incoming and outgoing None, appointments,
// contacts and tasks only) claims nothing here; ACT has its own claim, stamped in the mailbox
// itself so that it holds across operators too (spec.act.takeOver).

import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import type { ObjectCache } from '../kube/object-cache.js';
import { keyOf } from '../kube/watch-cache.js';
import type { Caches } from '../domain/caches.js';
import { effectiveDeliveryMethods } from '../domain/delivery-methods.js';

const addressKey = (m: Mailbox): string => m.spec.emailAddress.toLowerCase();

/** What decides who holds an address: a change to any of these may hand it to another Mailbox. */
const claimOf = (m: Mailbox): string =>
  JSON.stringify([
    addressKey(m),
    m.spec.incoming,
    m.spec.outgoing,
    m.spec.takeOverAddress ?? false,
    !!m.metadata.deletionTimestamp,
    getCondition(m.status?.conditions, 'Approved')?.status,
    m.status?.emailAddress,
  ]);

/**
 * An index of Mailboxes by address over the mailbox cache, which also wakes the other claimants of
 * an address when a claim on it changes (a Mailbox created, deleted, readdressed, taking over, or
 * approved), so that the next holder starts without waiting for a resync.
 */
export class AddressClaims {
  private readonly byAddress = new Map<string, Map<string, Mailbox>>();
  private readonly addressOf = new Map<string, string>();

  constructor(cache: ObjectCache<Mailbox>, wake: (m: Mailbox) => void) {
    const others = (m: Mailbox, address: string) =>
      this.claimants(address)
        .filter((o) => keyOf(o) !== keyOf(m))
        .forEach(wake);
    cache.addHandlers({
      onAdd: (m) => {
        this.put(m);
        others(m, addressKey(m));
      },
      onUpdate: (m, old) => {
        this.put(m);
        if (claimOf(m) === claimOf(old)) return;
        others(m, addressKey(old));
        if (addressKey(old) !== addressKey(m)) others(m, addressKey(m));
      },
      onDelete: (m) => {
        this.remove(m);
        others(m, addressKey(m));
      },
      onResync: (all) => {
        this.byAddress.clear();
        this.addressOf.clear();
        all.forEach((m) => this.put(m));
      },
    });
  }

  /** Every Mailbox with this address (any case), in every watched namespace. */
  claimants(address: string): Mailbox[] {
    return [...(this.byAddress.get(address.toLowerCase())?.values() ?? [])];
  }

  private put(m: Mailbox): void {
    this.remove(m);
    const key = keyOf(m);
    const address = addressKey(m);
    this.addressOf.set(key, address);
    const set = this.byAddress.get(address) ?? new Map<string, Mailbox>();
    set.set(key, m);
    this.byAddress.set(address, set);
  }

  private remove(m: Mailbox): void {
    const key = keyOf(m);
    const address = this.addressOf.get(key);
    if (address === undefined) return;
    this.addressOf.delete(key);
    const set = this.byAddress.get(address);
    set?.delete(key);
    if (set?.size === 0) this.byAddress.delete(address);
  }
}

/**
 * An approver approved this address on this Mailbox (whether or not its Deployment requires
 * approval): the Approved condition, which only holders of the approve verb can cause.
 */
const approvedByApprover = (m: Mailbox): boolean =>
  getCondition(m.status?.conditions, 'Approved')?.status === 'True' && m.status?.emailAddress === m.spec.emailAddress;

const created = (m: Mailbox): number => {
  const t = m.metadata.creationTimestamp ? new Date(m.metadata.creationTimestamp as unknown as string).getTime() : NaN;
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
};

/**
 * The Mailbox that holds an address among its claimants: the oldest (then by namespace/name, the
 * same answer in every process), unless another takes it over: of those whose take-over is in
 * effect (in the oldest one's namespace, or approved), an approved one, else the oldest.
 */
export function addressHolder(claimants: Mailbox[]): { holder: Mailbox; tookOver: boolean } | undefined {
  const [first, ...rest] = claimants
    .filter((m) => !m.metadata.deletionTimestamp)
    .sort((a, b) => created(a) - created(b) || keyOf(a).localeCompare(keyOf(b), 'en'));
  if (!first) return undefined;
  // An approver's decision weighs more than a mailbox author's: an approved taker first.
  const takers = rest.filter((m) => m.spec.takeOverAddress && (m.metadata.namespace === first.metadata.namespace || approvedByApprover(m)));
  const taker = takers.find(approvedByApprover) ?? takers[0];
  return taker ? { holder: taker, tookOver: true } : { holder: first, tookOver: false };
}

/**
 * Why this Mailbox may not use its address (another holds it), or undefined when it holds it. The
 * index is the manager's; without one (a reconciler run alone) the cache is scanned.
 */
export function addressInUse(
  mbx: Mailbox,
  caches: Caches,
  claims?: AddressClaims,
): { ok: false; reason: 'AddressInUse'; message: string } | undefined {
  // A Mailbox whose Deployment does not exist syncs nothing and holds nothing; nor does one that syncs no mail.
  const syncsMail = (m: Mailbox): boolean => {
    const deployment = caches.deployments.get(m.metadata.namespace, m.spec.deploymentRef.name);
    const methods = deployment && effectiveDeliveryMethods(m, deployment);
    return !!methods && (methods.incoming !== 'None' || methods.outgoing !== 'None');
  };
  if (!syncsMail(mbx)) return undefined;
  const claimants = (
    claims ? claims.claimants(mbx.spec.emailAddress) : caches.mailboxes.list().filter((m) => addressKey(m) === addressKey(mbx))
  ).filter((m) => keyOf(m) !== keyOf(mbx) && syncsMail(m));
  claimants.push(mbx);
  if (claimants.length < 2) return undefined;
  const found = addressHolder(claimants);
  if (!found || keyOf(found.holder) === keyOf(mbx)) return undefined;
  const other = `Mailbox ${keyOf(found.holder)} (deployment "${found.holder.spec.deploymentRef.name}")`;
  const why = found.tookOver ? `${other} took it over (spec.takeOverAddress)` : `${other} used it first`;
  const crossNamespace = found.holder.metadata.namespace !== mbx.metadata.namespace;
  return {
    ok: false,
    reason: 'AddressInUse',
    message:
      `${mbx.spec.emailAddress} is already synced by ${other}: one mailbox syncs with one organization, and ${why}. ` +
      `This Mailbox stays off until that one is deleted or changes its address, or set spec.takeOverAddress: true here to take it over` +
      (crossNamespace ? ' (across namespaces, once an approver approved the address on this Mailbox)' : ''),
  };
}
