import http from 'node:http';
import https from 'node:https';

/** Keep-alive socket pools a process's clients may share. */
export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

/**
 * Keep-alive agents for many clients: sockets are pooled per host, so a thousand sources of one
 * vendor reuse a few connections instead of holding one pool each; idle sockets close after 30 s.
 */
export function keepAliveAgents(): HttpAgents {
  const o = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 30_000 };
  return { http: new http.Agent(o), https: new https.Agent(o) };
}
