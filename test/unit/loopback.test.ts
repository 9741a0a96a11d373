import { describe, expect, it } from 'vitest';
import { assertSafeUrl } from '../../src/http/client.js';
import { isLoopbackHost } from '../../src/http/loopback.js';

describe('isLoopbackHost', () => {
  it('accepts localhost, 127.x.x.x and ::1 with or without brackets', () => {
    for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) expect(isLoopbackHost(h), h).toBe(true);
  });

  it('refuses other hosts, including look-alikes', () => {
    for (const h of ['example.com', '10.0.0.1', '128.0.0.1', '127.0.0', '127.0.0.1.example.com', 'localhost.example.com', '[::2]', '::', '0.0.0.0', '']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });

  it('is what URL hostnames of loopback URLs give', () => {
    for (const u of ['http://localhost:8080/', 'http://127.0.0.1/', 'http://[::1]:3000/x']) expect(isLoopbackHost(new URL(u).hostname), u).toBe(true);
  });
});

describe('assertSafeUrl uses the loopback rule', () => {
  it('allows plain http only to loopback', () => {
    expect(assertSafeUrl('/a', 'http://[::1]:3000/').href).toBe('http://[::1]:3000/a');
    expect(() => assertSafeUrl('/a', 'http://example.com/')).toThrow('only loopback may use http');
  });
});
