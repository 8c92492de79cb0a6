// The body of one parser thread (see parser-pool.ts): parses each message it is sent with the same
// parseMessage the inline path uses, and answers with the result under the task's id.

import { parentPort } from 'node:worker_threads';
import { parseMessage, type ParseOptions } from './parse.js';

export interface ParseTask {
  id: number;
  raw: Uint8Array;
  opts: ParseOptions;
}

parentPort?.on('message', (task: ParseTask) => {
  const raw = Buffer.from(task.raw.buffer, task.raw.byteOffset, task.raw.byteLength);
  void parseMessage(raw, task.opts).then(
    (result) => parentPort!.postMessage({ id: task.id, result }),
    // parseMessage reports problems as results; anything thrown is a defect, still per message.
    (err: unknown) =>
      parentPort!.postMessage({
        id: task.id,
        result: {
          ok: false,
          reason: 'CorruptMessage',
          message: `the message could not be parsed: ${(err as Error)?.message ?? String(err)}`,
        },
      }),
  );
});
