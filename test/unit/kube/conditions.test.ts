import { setCondition } from '../../../src/kube/conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');

test('lastTransitionTime changes only when the status changes', () => {
  let c = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
  expect(c[0].lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  c = setCondition(c, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
  expect(c[0]).toEqual({
    type: 'Ready',
    status: 'False',
    reason: 'B',
    message: 'b',
    lastTransitionTime: '2026-01-01T00:00:00Z',
    observedGeneration: 2,
  });
  c = setCondition(c, { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, 2, t1);
  expect(c[0].lastTransitionTime).toBe('2026-01-01T01:00:00Z');
});

test('other conditions keep their place', () => {
  let c = setCondition([], { type: 'A', status: 'True', reason: 'X' }, 1, t0);
  c = setCondition(c, { type: 'B', status: 'True', reason: 'X' }, 1, t0);
  c = setCondition(c, { type: 'A', status: 'False', reason: 'Y' }, 1, t0);
  expect(c.map((x) => `${x.type}=${x.status}`)).toEqual(['A=False', 'B=True']);
});
