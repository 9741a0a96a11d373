import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening HTTP server as the dashboard and the metrics endpoint hand it back. */
export interface Listening {
  port: number;
  server: Server;
  /** Stops listening and ends open connections (keep-alive ones included), without waiting for them. */
  close(): Promise<void>;
}

/** The handle of a server that is listening now. */
export function listening(server: Server): Listening {
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
