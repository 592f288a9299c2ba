// Go's json.Decoder error texts for PATCH /1.0 bodies. Expected texts: the live servers' answers in
// fixtures/reference (LXD 5.0.2 probe-broad.txt has none: 5.0.2 ignores PATCH; Incus 6.0.4 probe-responses.txt)
// and Go's encoding/json scanner wording for the rest.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeGoStatePut } from '../../src/guest/go-json-decode.ts';

const INCUS = readFileSync(
  new URL('../../fixtures/reference/incus-6.0.4/probe-responses.txt', import.meta.url),
  'utf8',
);

const err = (body: string, t = 'DevIncusPut') => {
  try {
    decodeGoStatePut(body, t);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('Go json.Decoder wording', () => {
  it('matches what Incus 6.0.4 answered for `not json`', () => {
    const rec = /### PATCH \/1\.0 body=b'not json'\n(?:.*\n)*?\s+body: b"(.*)\\n"/.exec(INCUS);
    expect(rec?.[1]).toBe("invalid character 'o' in literal null (expecting 'u')");
    expect(err('not json')).toBe(rec?.[1]);
  });

  it('words syntax errors as Go does', () => {
    expect(err('')).toBe('EOF');
    expect(err('  \n')).toBe('EOF');
    expect(err('{"state":"Ready"')).toBe('unexpected EOF');
    expect(err('xyz')).toBe("invalid character 'x' looking for beginning of value");
    expect(err("'a'")).toBe(`invalid character '\\'' looking for beginning of value`);
    expect(err('tru')).toBe('unexpected EOF');
    expect(err('trux')).toBe("invalid character 'x' in literal true (expecting 'e')");
    expect(err('{state:1}')).toBe("invalid character 's' looking for beginning of object key string");
    expect(err('{"a" 1}')).toBe("invalid character '1' after object key");
    expect(err('{"a":1 "b":2}')).toBe(`invalid character '"' after object key:value pair`);
    expect(err('[1 2]')).toBe("invalid character '2' after array element");
    expect(err('-x')).toBe("invalid character 'x' in numeric literal");
    expect(err('{"a":"\\q"}')).toBe("invalid character 'q' in string escape code");
    expect(err('{"a":"x\ny"}')).toBe("invalid character '\\n' in string literal");
  });

  it('names the target type as the dialect does', () => {
    expect(err('[]', 'DevLXDPut')).toBe('json: cannot unmarshal array into Go value of type api.DevLXDPut');
    expect(err('[]')).toBe('json: cannot unmarshal array into Go value of type api.DevIncusPut');
    expect(err('"x"')).toBe('json: cannot unmarshal string into Go value of type api.DevIncusPut');
    expect(err('{"state":1}')).toBe(
      'json: cannot unmarshal number into Go struct field DevIncusPut.state of type string',
    );
    expect(err('{"state":true}')).toBe(
      'json: cannot unmarshal bool into Go struct field DevIncusPut.state of type string',
    );
  });

  it('decodes the first value only, fields case-insensitively', () => {
    expect(decodeGoStatePut('{"state":"Ready"} trailing', 'DevLXDPut')).toBe('Ready');
    expect(decodeGoStatePut('{"State":"Started","extra":1}', 'DevLXDPut')).toBe('Started');
    expect(decodeGoStatePut('null', 'DevLXDPut')).toBeUndefined();
    expect(decodeGoStatePut('{}', 'DevLXDPut')).toBeUndefined();
  });
});
