import { describe, expect, it } from 'vitest';
import { assertSafeUrl } from '../../src/http/client.js';

describe('http policy', () => {
  it('follows links only on the source origin, and plain http only to loopback', () => {
    expect(assertSafeUrl('https://my.famoco.com/api/x?page=2', 'https://my.famoco.com/api').href).toBe('https://my.famoco.com/api/x?page=2');
    expect(() => assertSafeUrl('https://evil.example/api/x', 'https://my.famoco.com/api')).toThrow('off the source\'s origin https://my.famoco.com');
    expect(() => assertSafeUrl('http://10.0.0.1/api', 'http://10.0.0.1/api')).toThrow('only loopback may use http');
    expect(assertSafeUrl('http://127.0.0.1:8080/api/orgs', 'http://127.0.0.1:8080/api').pathname).toBe('/api/orgs');
  });
});
