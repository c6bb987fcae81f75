import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** No request we serve needs more; a larger one is refused before it is read whole. */
const MAX_BODY_BYTES = 1 << 20;

export type Handler = (body: unknown) => Promise<unknown> | unknown;

export const reply = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

export const readBody = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`a request body over ${MAX_BODY_BYTES} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(Object.assign(new Error('a request body that is not JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });


/** Listens and resolves with the port it got (port 0 asks for any). */
export const listenOn = <S extends Server>(server: S, listen: { host: string; port: number }): Promise<{ server: S; port: number }> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : listen.port });
    });
  });
