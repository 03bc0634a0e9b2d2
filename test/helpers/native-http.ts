/**
 * POST /offer on loopback answered by native control-plane sessions (native-session.ts), for
 * clients that sign on over HTTP (the pion client). Every session is closed with the server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerWithNativeSession, type NativeTestOptions, type NativeTestSession } from './native-session.js';

export interface NativeHttpServer {
  url: string;
  sessions: NativeTestSession[];
  close(): Promise<void>;
}

export async function startNativeHttpServer(options: NativeTestOptions = {}): Promise<NativeHttpServer> {
  const sessions: NativeTestSession[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      void (async () => {
        try {
          const offer = JSON.parse(body) as { sdp: string };
          const session = await answerWithNativeSession(offer.sdp, options);
          sessions.push(session);
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ type: 'answer', sdp: session.answerSdp }));
        } catch (error) {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: String(error) }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/offer`,
    sessions,
    async close() {
      for (const session of sessions) session.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
