// Checks behind /healthz and /readyz. A probe answers `true` when it passes, or a short reason
// when it does not; the reasons are what a human reads in `kubectl describe pod` when a probe fails.

export type ProbeResult = true | string;

export interface Probe {
  name: string;
  check(): ProbeResult | Promise<ProbeResult>;
}

export interface ProbeReport {
  ok: boolean;
  /** One line per probe, in the kube-apiserver's /readyz?verbose style: `[+]name ok` / `[-]name failed: reason`. */
  lines: string[];
}

/** Runs every probe at once; a probe that throws or takes longer than `timeoutMs` fails. */
export async function runProbes(probes: readonly Probe[], timeoutMs = 2000): Promise<ProbeReport> {
  const results = await Promise.all(
    probes.map(async (p): Promise<ProbeResult> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(`did not answer within ${timeoutMs} ms`), timeoutMs);
        });
        return await Promise.race([Promise.resolve().then(() => p.check()), timeout]);
      } catch (err) {
        return `error: ${(err as Error)?.message ?? String(err)}`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const lines = probes.map((p, i) => (results[i] === true ? `[+]${p.name} ok` : `[-]${p.name} failed: ${results[i]}`));
  return { ok: results.every((r) => r === true), lines };
}

/**
 * Measures how late a timer fires. A timer that should fire every `intervalMs` and fires late by
 * N ms means the event loop was blocked (CPU-bound work, synchronous I/O, a long GC) for about N ms.
 * The probe fails while a lag above `maxLagMs` was seen within the last `windowMs`: one long pause
 * fails a probe or two, a loop that keeps stalling fails them all and the kubelet restarts the pod.
 * (A loop blocked outright cannot answer at all; the kubelet's probe timeout covers that case.)
 */
export class EventLoopMonitor {
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private samples: { at: number; lagMs: number }[] = [];

  constructor(private readonly opts: { intervalMs?: number; maxLagMs?: number; windowMs?: number; now?: () => number } = {}) {}

  private get intervalMs() {
    return this.opts.intervalMs ?? 500;
  }
  private now() {
    return (this.opts.now ?? Date.now)();
  }

  start(): this {
    if (this.timer) return this;
    this.expected = this.now() + this.intervalMs;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref(); // never keeps the process alive on its own
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records one beat; public so tests can drive the monitor with a fake clock. */
  tick(): void {
    const now = this.now();
    this.record(now, Math.max(0, now - this.expected));
    this.expected = now + this.intervalMs;
  }

  record(at: number, lagMs: number): void {
    const windowMs = this.opts.windowMs ?? 10_000;
    this.samples.push({ at, lagMs });
    this.samples = this.samples.filter((s) => s.at > at - windowMs);
  }

  /** The largest lag seen within the window, in milliseconds. */
  maxRecentLagMs(): number {
    const windowMs = this.opts.windowMs ?? 10_000;
    const since = this.now() - windowMs;
    return Math.max(0, ...this.samples.filter((s) => s.at > since).map((s) => s.lagMs));
  }

  probe(): Probe {
    const maxLagMs = this.opts.maxLagMs ?? 10_000;
    return {
      name: 'event-loop',
      check: () => {
        const lag = this.maxRecentLagMs();
        return lag <= maxLagMs ? true : `event loop was blocked for ${Math.round(lag)} ms (limit ${maxLagMs} ms)`;
      },
    };
  }
}

export type OperatorPhase = 'starting' | 'standby' | 'leading' | 'running' | 'stopping';

/**
 * Readiness of the operator process. A leader is ready once its caches have synced and its
 * controllers run; a replica standing by for the Lease is ready too (it serves metrics and
 * is ready to take over), so a rolling update is not held up by replicas that do not lead.
 */
export class OperatorReadiness {
  private current: OperatorPhase = 'starting';

  get phase(): OperatorPhase {
    return this.current;
  }
  /** Leader election runs and another replica holds the Lease (or none has been won yet). */
  standby(): void {
    if (this.current === 'starting') this.current = 'standby';
  }
  /** This replica won the Lease (or runs without election); controllers are starting. */
  leading(): void {
    if (this.current !== 'stopping') this.current = 'leading';
  }
  /** Caches synced and workers running. */
  started(): void {
    if (this.current !== 'stopping') this.current = 'running';
  }
  /** Shutting down: leave the Service's endpoints before the process goes. */
  stopping(): void {
    this.current = 'stopping';
  }

  probe(): Probe {
    return {
      name: 'controllers',
      check: () => {
        switch (this.current) {
          case 'running':
            return true;
          case 'standby':
            return true;
          case 'starting':
            return 'starting';
          case 'leading':
            return 'leader: waiting for the caches to sync and the controllers to start';
          case 'stopping':
            return 'shutting down';
        }
      },
    };
  }
}
