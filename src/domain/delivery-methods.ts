// A mailbox's delivery methods after its Deployment's defaults: what the reconcilers test and the
// sync workers (a forward mailbox finding its forwarders) both ask.

import type { Deployment, Mailbox } from '../api/types.js';

export interface DeliveryMethods {
  incoming: 'ServerSideSync' | 'ForwardMailbox' | 'None';
  outgoing: 'ServerSideSync' | 'None';
  appointmentsContactsTasks: 'ServerSideSync' | 'None';
}

/** The mailbox's delivery methods after the Deployment's defaults. A forward mailbox only receives. */
export function effectiveDeliveryMethods(mbx: Mailbox, deployment: Deployment | undefined): DeliveryMethods {
  if (mbx.spec.forwardMailbox) return { incoming: 'ServerSideSync', outgoing: 'None', appointmentsContactsTasks: 'None' };
  const d = deployment?.spec.defaults ?? {};
  return {
    incoming: mbx.spec.incoming ?? d.incoming ?? 'ServerSideSync',
    outgoing: mbx.spec.outgoing ?? d.outgoing ?? 'ServerSideSync',
    appointmentsContactsTasks: mbx.spec.appointmentsContactsTasks ?? d.appointmentsContactsTasks ?? 'None',
  };
}
