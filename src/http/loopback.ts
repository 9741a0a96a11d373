// A URL's hostname keeps IPv6 in brackets ("[::1]"); a bare "::1" comes from hosts given unbracketed.
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/**
 * Whether a hostname is this machine (localhost, 127.x.x.x, [::1] or ::1): the only hosts plain
 * http may reach, since nothing sent there crosses a network. Pure; never throws.
 */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}
