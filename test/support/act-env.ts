// What the ACT tests share: engine settings with Dynamics' default directions, overridable.
import { directionTable } from '../../src/act/directions.js';
import type { ActSettings } from '../../src/act/engine.js';

export function actTestSettings(extra: Partial<ActSettings> = {}): ActSettings {
  return {
    kinds: ['appointment', 'contact'],
    directions: { appointment: directionTable('appointment'), contact: directionTable('contact'), task: directionTable('task') },
    policy: 'CRMWins',
    trackingCategory: 'Tracked to Contoso CRM',
    propagateCancellations: false,
    dryRun: false,
    takeOver: false,
    pageSize: 50,
    ...extra,
  };
}
