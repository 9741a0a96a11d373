import { describe, expect, it } from 'vitest';
import { readFamocoError } from '../../jobs/famoco.js';
import { readIzumaError } from '../../jobs/izuma.js';

describe('Famoco error bodies', () => {
  it('reads detail, field and non-field errors', () => {
    expect(readFamocoError({ errors: { detail: 'Request was throttled. Expected available in 3254 seconds.' } })).toEqual({
      message: 'Request was throttled. Expected available in 3254 seconds.',
    });
    expect(readFamocoError({ errors: { page_size: ['A valid integer is required.'], name: ['Too long.', 'Bad.'] } })).toEqual({
      message: 'page_size: A valid integer is required.; name: Too long. Bad.',
    });
    expect(readFamocoError({ errors: { non_field_errors: ['Nope.'] } })).toEqual({ message: 'Nope.' });
    expect(readFamocoError({ detail: 'Not found.' })).toEqual({ message: 'Not found.' });
    expect(readFamocoError('<html>')).toEqual({});
  });
});

describe('Izuma error bodies', () => {
  it('reads type, message, fields and request_id', () => {
    expect(
      readIzumaError({ object: 'error', code: 401, type: 'invalid_apikey', message: 'Provided API key is invalid.', fields: [], request_id: 'abc' }),
    ).toEqual({ message: 'invalid_apikey: Provided API key is invalid.', requestId: 'abc' });
    expect(readIzumaError({ fields: [{ name: 'after', message: 'bad' }] })).toEqual({ message: '(after: bad)' });
    expect(readIzumaError(null)).toEqual({});
  });
});
