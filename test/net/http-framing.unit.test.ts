// Response framing of the streaming upstream client: head parsing, Content-Length, chunked (split
// anywhere, even inside size lines and CRLFs), and until-close bodies.
import { describe, expect, it } from 'vitest';
import { BodyFraming, parseHead } from '../../src/net/http-framing.ts';

const feedAll = (f: BodyFraming, wire: Buffer, step: number): Buffer => {
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length; i += step) out.push(...f.feed(wire.subarray(i, i + step)));
  return Buffer.concat(out);
};

describe('parseHead', () => {
  it('reads the status and lower-cased headers, joining repeats', () => {
    const h = parseHead('HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2');
    expect(h).toEqual({ status: 206, headers: { 'content-length': '5', 'x-a': '1, 2' } });
  });
  it('refuses a bad status line or header line', () => {
    expect(() => parseHead('HTTP/2 200')).toThrow(/bad status line/);
    expect(() => parseHead('HTTP/1.1 200 OK\r\nnocolon')).toThrow(/bad header line/);
  });
});

describe('BodyFraming', () => {
  it('Content-Length: ends exactly there and refuses more', () => {
    const f = new BodyFraming({ 'content-length': '6' });
    expect(f.feed(Buffer.from('abc')).map(String)).toEqual(['abc']);
    expect(f.done).toBe(false);
    f.feed(Buffer.from('def'));
    expect(f.done).toBe(true);
    expect(() => f.feed(Buffer.from('x'))).toThrow(/more bytes/);
    expect(() => new BodyFraming({ 'content-length': '1x' })).toThrow(/Content-Length/);
  });
  it('chunked: decodes whatever the split, with extensions and trailers', () => {
    const payload = Buffer.from('hello, chunked world! '.repeat(50));
    const parts = [payload.subarray(0, 7), payload.subarray(7, 700), payload.subarray(700)];
    const wire = Buffer.concat([
      ...parts.flatMap((p, i) => [
        Buffer.from(`${p.length.toString(16)}${i === 1 ? ';ext=1' : ''}\r\n`),
        p,
        Buffer.from('\r\n'),
      ]),
      Buffer.from('0\r\nX-Trailer: y\r\n\r\n'),
    ]);
    for (const step of [1, 2, 3, 7, 64, wire.length]) {
      const f = new BodyFraming({ 'transfer-encoding': 'chunked' });
      expect(feedAll(f, wire, step).equals(payload)).toBe(true);
      expect(f.done).toBe(true);
    }
  });
  it('chunked: refuses a bad size line and missing CRLF after data', () => {
    expect(() => new BodyFraming({ 'transfer-encoding': 'chunked' }).feed(Buffer.from('zz\r\n'))).toThrow(/chunk size/);
    expect(() => new BodyFraming({ 'transfer-encoding': 'chunked' }).feed(Buffer.from('2\r\nabXY\r\n'))).toThrow(
      /CRLF/,
    );
  });
  it('no length and not chunked: the body lasts until the connection closes', () => {
    const f = new BodyFraming({});
    expect(f.untilClose).toBe(true);
    expect(f.feed(Buffer.from('abc')).map(String)).toEqual(['abc']);
    expect(f.done).toBe(false);
  });
});
