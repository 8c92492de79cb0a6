// Kubernetes Events: Normal on success, Warning on failure (Kubernetes' form of the Dynamics
// alert wall). Repeats of the same event on the same object increment a count instead of
// creating new Event objects, as client-go's recorder does.

import { describeError } from './errors.js';
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { redact } from '../util/redact.js';
import { mergePatch, type KubeClients } from './client.js';

export type EventType = 'Normal' | 'Warning';

const AGGREGATE_WINDOW_MS = 10 * 60_000;

export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(
    private readonly clients: KubeClients,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  /** Records an event; never throws (an event that cannot be written is logged). */
  async record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const ns = obj.metadata?.namespace ?? 'default';
    const text = redact(message).slice(0, 1024);
    const key = `${obj.metadata?.uid}/${type}/${reason}/${text}`;
    const now = new Date();
    try {
      const prev = this.recent.get(key);
      if (prev && now.getTime() - prev.at < AGGREGATE_WINDOW_MS) {
        prev.count++;
        prev.at = now.getTime();
        await this.clients.core.patchNamespacedEvent(
          { name: prev.name, namespace: prev.namespace, body: { count: prev.count, lastTimestamp: now.toISOString() } },
          mergePatch(),
        );
        return;
      }
      const name = `${obj.metadata?.name}.${randomBytes(8).toString('hex')}`;
      const event: CoreV1Event = {
        metadata: { name, namespace: ns },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata?.name,
          namespace: ns,
          uid: obj.metadata?.uid,
          resourceVersion: obj.metadata?.resourceVersion,
        },
        type,
        reason,
        message: text,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await this.clients.core.createNamespacedEvent({ namespace: ns, body: event });
      this.recent.set(key, { name, namespace: ns, count: 1, at: now.getTime() });
      if (this.recent.size > 5000) this.prune(now.getTime());
    } catch (err) {
      this.recent.delete(key);
      this.logger.warn({ namespace: ns, name: obj.metadata?.name, reason }, `could not record event: ${describeError(err)}`);
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.recent) if (now - v.at > AGGREGATE_WINDOW_MS) this.recent.delete(k);
  }
}
