// The $batch format: what buildBatch writes is what the Dataverse fake's strict reader accepts
// (change sets, renumbered Content-IDs and `$n` references), and parseBatchResponse reads each
// kind of answer: a response, a committed change set, a rolled-back one, items never run.
import { buildBatch, changeSetResult, entityIdOf, parseBatchResponse } from '../../../src/crm/dynamics-batch.js';
import { formatBatchAnswer, parseBatchRequest } from '../../support/fake-crm-dynamics-batch.js';

const API = '/api/data/v9.2';

test('a batch of operations and change sets, read back as the server reads it; references renumbered per change set', () => {
  const { contentType, body } = buildBatch(API, [
    { method: 'GET', path: `emails?$filter=${encodeURIComponent("subject eq 'a'")}`, headers: { prefer: 'odata.maxpagesize=5' } },
    {
      changeSet: [
        { method: 'POST', path: 'emails', body: { subject: 'one' } },
        { method: 'PATCH', path: '$1', body: { statuscode: 4, statecode: 1 } },
      ],
    },
    {
      changeSet: [
        { method: 'POST', path: 'emails', body: { subject: 'two' } },
        { method: 'POST', path: 'queueitems', body: { 'objectid_email@odata.bind': '$1', 'queueid@odata.bind': '/queues(q)' } },
        { method: 'PATCH', path: '$1', body: { statuscode: 4 } },
      ],
    },
  ]);
  expect(contentType).toMatch(/^multipart\/mixed; boundary=batch_/);
  const items = parseBatchRequest(contentType, body);
  expect(items.map((i) => i.kind)).toEqual(['operation', 'changeSet', 'changeSet']);
  const [get, first, second] = items;
  expect(get.kind === 'operation' && get.op).toMatchObject({
    method: 'GET',
    url: `${API}/emails?$filter=subject%20eq%20'a'`,
    headers: { prefer: 'odata.maxpagesize=5' },
  });
  // A request line with a space in its URL is not a request line: the fake refuses it as a server would.
  const raw = buildBatch(API, [{ method: 'GET', path: "emails?$filter=subject eq 'a'" }]);
  expect(() => parseBatchRequest(raw.contentType, raw.body)).toThrow(/Not a request line/);
  if (first.kind !== 'changeSet' || second.kind !== 'changeSet') throw new Error('expected change sets');
  expect(first.ops.map((o) => [o.contentId, o.method, o.url])).toEqual([
    ['1', 'POST', `${API}/emails`],
    ['2', 'PATCH', '$1'],
  ]);
  // Content-IDs are unique in the batch: the second change set's `$1` is its own first request.
  expect(second.ops.map((o) => [o.contentId, o.url])).toEqual([
    ['3', `${API}/emails`],
    ['4', `${API}/queueitems`],
    ['5', '$3'],
  ]);
  expect(JSON.parse(second.ops[1].body)).toEqual({ 'objectid_email@odata.bind': '$3', 'queueid@odata.bind': '/queues(q)' });
});

test('the answer: one response per item, a committed change set, a rolled-back one, items the server never ran', () => {
  const boundary = 'batchresponse_test';
  const text = formatBatchAnswer(
    [
      { kind: 'one', answer: { status: 200, body: { value: [{ activityid: 'a' }] } } },
      {
        kind: 'changeSet',
        answers: [
          {
            status: 204,
            headers: { 'OData-EntityId': 'https://org/api/data/v9.2/emails(11111111-2222-4333-8444-555555555555)' },
            contentId: '1',
          },
          { status: 204, contentId: '2' },
        ],
      },
      { kind: 'one', answer: { status: 400, body: { error: { code: '0x80040217', message: 'Does Not Exist' } } } },
    ],
    boundary,
  );
  const results = parseBatchResponse(`multipart/mixed; boundary=${boundary}`, text, 4);
  expect(results[0]).toEqual({
    kind: 'one',
    response: { status: 200, headers: expect.any(Object), body: { value: [{ activityid: 'a' }] } },
  });
  expect(results[1].kind).toBe('committed');
  if (results[1].kind === 'committed') expect(entityIdOf(results[1].responses[0])).toBe('11111111-2222-4333-8444-555555555555');
  expect(changeSetResult(results[2])).toMatchObject({
    kind: 'rolledBack',
    response: { status: 400, body: { error: { code: '0x80040217' } } },
  });
  expect(results[3]).toEqual({ kind: 'missing' });
  expect(() => parseBatchResponse('application/json', '{}', 1)).toThrow(/multipart/);
  expect(() => parseBatchResponse(`multipart/mixed; boundary=${boundary}`, text.slice(0, text.length / 2), 3)).toThrow(/cut short/);
});
