// An HTTPS server on a loopback port with a certificate from a throwaway CA, for the protocol fakes
// (OAuth, Graph, EWS). One CA per test process: clients trust it through Endpoint.ca, and leaving
// it out is the "untrusted certificate" case.
import https from 'node:https';
import type http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestPki, type TestPki } from './test-pki.js';

let pki: Promise<TestPki> | undefined;

/** The test process's CA and server certificate, created on first use. */
export function sharedTestPki(): Promise<TestPki> {
  pki ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-pki-'));
    try {
      return await createTestPki(dir);
    } finally {
      // The PEMs are in memory; nothing needs the files afterwards.
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return pki;
}

export interface HttpsServer {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  port: number;
  caPem: string;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void | Promise<void>;

/** Starts an HTTPS server whose handler gets the whole request body. Handler errors become HTTP 500. */
export async function startHttpsServer(handler: Handler): Promise<HttpsServer> {
  const { certPem, keyPem, caPem } = await sharedTestPki();
  const sockets = new Set<net.Socket>();
  const server = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, res, Buffer.concat(chunks).toString('utf8'))).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake server bug: ${String(err)}`);
      });
    });
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // A client that rejects our certificate aborts the handshake; that is the point of some tests.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    caPem,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes a JSON answer. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
