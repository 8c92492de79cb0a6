// Parses POP3 server replies from a byte stream (RFC 1939, RFC 2449).
//
// TCP and TLS deliver bytes in arbitrary pieces: a status line can arrive as "+O" then "K ...", and
// the ".\r\n" that ends a multi-line reply can be split from the CRLF before it. So the parser works
// on complete lines only, carrying a partial line over between chunks, and never looks at chunk
// boundaries. Multi-line payloads are dot-unstuffed (a leading "." that the server added to lines
// starting with "." is removed) and returned as raw bytes, line endings included, so a message
// retrieved with RETR is byte-for-byte what the server stored.

export type Pop3Reply =
  /** +OK; `data` holds the unstuffed payload of a multi-line reply. */
  | { kind: 'ok'; text: string; data?: Buffer }
  /** -ERR, with the RFC 2449 extended response code when the server sent one ("[AUTH]" → "AUTH"). */
  | { kind: 'err'; text: string; responseCode?: string }
  /** "+ challenge" during SASL AUTH (RFC 5034). */
  | { kind: 'continue'; text: string };

export class Pop3ParseError extends Error {
  readonly code = 'EPROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'Pop3ParseError';
  }
}

interface Expectation {
  multiline: boolean;
  resolve: (reply: Pop3Reply) => void;
  reject: (err: Error) => void;
}

const LF = 0x0a;
const DOT = 0x2e;
/** Status lines are short (RFC 2449 caps them at 512 octets); anything far longer is not POP3. */
const MAX_STATUS_LINE = 64 * 1024;

export class Pop3ResponseParser {
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Complete lines that arrived before anyone expected a reply. */
  private unclaimed: Buffer[] = [];
  private readonly queue: Expectation[] = [];
  /** The multi-line reply being collected for queue[0], once its +OK line has been seen. */
  private body?: { text: string; parts: Buffer[]; size: number };
  private failure?: Error;

  constructor(private readonly maxReplyBytes = 256 * 1024 * 1024) {}

  /** Bytes received but not yet consumed by a reply (used to detect injection after STLS). */
  get buffered(): number {
    return this.partialLength + this.unclaimed.reduce((n, l) => n + l.length, 0);
  }

  /** Registers interest in the next reply. Replies are matched to expectations in order. */
  expect(multiline: boolean): Promise<Pop3Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ multiline, resolve, reject });
      if (this.queue.length === 1) this.drainUnclaimed();
    });
  }

  push(chunk: Buffer): void {
    if (this.failure) return;
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.partial.push(chunk.subarray(start));
        this.partialLength += chunk.length - start;
        if (this.partialLength > this.limit()) {
          this.fail(new Pop3ParseError(`server sent a line longer than ${this.limit()} bytes`));
        }
        return;
      }
      let line = chunk.subarray(start, lf + 1);
      if (this.partialLength > 0) {
        line = Buffer.concat([...this.partial, line], this.partialLength + line.length);
        this.partial = [];
        this.partialLength = 0;
      }
      start = lf + 1;
      this.onLine(line);
      if (this.failure) return;
    }
  }

  /** Rejects every pending and future expectation: the connection is gone or out of step. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.body = undefined;
    for (const exp of this.queue.splice(0)) exp.reject(err);
  }

  private limit(): number {
    return this.body ? this.maxReplyBytes : MAX_STATUS_LINE;
  }

  private drainUnclaimed(): void {
    while (this.queue.length > 0 && this.unclaimed.length > 0 && !this.failure) {
      this.handle(this.unclaimed.shift()!);
    }
  }

  private onLine(line: Buffer): void {
    if (this.queue.length === 0) {
      this.unclaimed.push(line);
      return;
    }
    this.handle(line);
  }

  private handle(line: Buffer): void {
    const exp = this.queue[0];
    if (this.body) {
      if (isTerminator(line)) {
        const { text, parts, size } = this.body;
        this.body = undefined;
        this.queue.shift();
        exp.resolve({ kind: 'ok', text, data: Buffer.concat(parts, size) });
        return;
      }
      const payload = line[0] === DOT ? line.subarray(1) : line;
      this.body.parts.push(payload);
      this.body.size += payload.length;
      if (this.body.size > this.maxReplyBytes) this.fail(new Pop3ParseError(`reply exceeds ${this.maxReplyBytes} bytes`));
      return;
    }
    const status = line.toString('utf8').replace(/\r?\n$/, '');
    if (status.startsWith('+OK')) {
      const text = status.slice(3).trim();
      if (exp.multiline) {
        this.body = { text, parts: [], size: 0 };
        return;
      }
      this.queue.shift();
      exp.resolve({ kind: 'ok', text });
    } else if (status.startsWith('-ERR')) {
      const text = status.slice(4).trim();
      const code = /^\[([^\]]+)\]/.exec(text);
      this.queue.shift();
      exp.resolve({ kind: 'err', text, responseCode: code ? code[1].toUpperCase() : undefined });
    } else if (status === '+' || status.startsWith('+ ')) {
      this.queue.shift();
      exp.resolve({ kind: 'continue', text: status.slice(2) });
    } else {
      // Out of step with the server: nothing later can be trusted to match its command.
      this.fail(new Pop3ParseError(`unexpected reply from the server: ${JSON.stringify(status.slice(0, 80))}`));
    }
  }
}

function isTerminator(line: Buffer): boolean {
  return (
    (line.length === 3 && line[0] === DOT && line[1] === 0x0d && line[2] === LF) || (line.length === 2 && line[0] === DOT && line[1] === LF)
  );
}
