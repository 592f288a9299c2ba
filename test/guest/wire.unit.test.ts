// Pure wire formats and dialect tables, tested without sockets.
// Where the expected bytes come from:
// - lxd-5.0: the LXD 5.0.2 recording (fixtures/reference/lxd-5.0.2), also replayed by differential.root.test.ts.
// - incus: the Incus 6.0.4 recording (fixtures/reference/incus-6.0.4/probe-responses.txt), read below; no
//   Incus text in this file is typed in by hand.
// - lxd (6.x): NO recording exists: this machine kind runs Debian's LXD 5.0.2 and no LXD 6 server can be
//   installed next to it (Debian bookworm packages LXD 5.0.2 only; LXD 6 ships as a snap, which needs
//   snapd and systemd, and these machines run without systemd). Each 6.x text below names the upstream
//   source it is copied from (github.com/canonical/lxd, tag lxd-6.9 = 85f897013ccd unless said otherwise;
//   see the protocol spec's version table).
import { describe, expect, it } from 'vitest';
import { DIALECTS, dialectFor, isDisabled, UTF8_TEXT } from '../../src/guest/dialects.ts';
import { envelopeError, goTextError, rawResponse, toImageWireError, toWireError } from '../../src/guest/http-errors.ts';
import { methodAction } from '../../src/guest/methods.ts';
import { GuestgateError } from '../../src/errors.ts';
import { cleanPath } from '../../src/guest/app.ts';
import { guestDevices, pathUnescape } from '../../src/guest/routes/basic.ts';
import { decodeStatePut } from '../../src/guest/routes/info.ts';
import { goJson } from '../../src/util/gojson.ts';
import { renderMetaData } from '../../src/cloudinit/meta-data.ts';
import { guestConfigKeys } from '../../src/cloudinit/keys.ts';
import { parseInstanceYaml } from '../../src/inventory/parse.ts';
import { header, readRecording, recorded, type Recorded } from '../helpers/recording.ts';

const INCUS = readRecording(new URL('../../fixtures/reference/incus-6.0.4/probe-responses.txt', import.meta.url));
/** A recorded error answer as a WireError (status, content type, exact body). */
const asWire = (r: Recorded) => ({
  status: r.status,
  contentType: header(r, 'Content-Type'),
  body: r.body!.toString(),
});

const c1 = parseInstanceYaml(
  'name: c1\nconfig: {volatile.cloud-init.instance-id: a051f6ea-30c6-4450-8bce-8c6809b60129, user.foo: bar, cloud-init.user-data: "#cloud-config\\n", security.nesting: "true"}\n',
  'c1.yaml',
);

describe('meta-data', () => {
  it('is byte-exact for Incus 6.0.4 (recorded: header line, user.meta-data appended)', () => {
    const rec = recorded(INCUS, 'GET /1.0/meta-data');
    const incC1 = parseInstanceYaml(
      `name: inc-c1\nconfig: {volatile.cloud-init.instance-id: 89ec6097-a49f-49b4-af7d-47f076b4ec2b, user.meta-data: "ci25-meta-key: v\\nlocal-hostname: from-user-meta"}\n`,
      'inc-c1.yaml',
    );
    expect(renderMetaData(incC1, { header: DIALECTS.incus.metaDataHeader })).toBe(rec.body!.toString());
  });
  // lxd 6.x: no '#cloud-config' line from LXD 6.3 (commit 5fe7007913, lxd/devlxd.go devlxdMetadataGet).
  it('is byte-exact for LXD 5.0.2 (header line) and LXD 6.3+ (none)', () => {
    expect(renderMetaData(c1, { header: true })).toBe(
      '#cloud-config\ninstance-id: a051f6ea-30c6-4450-8bce-8c6809b60129\nlocal-hostname: c1\n',
    );
    expect(renderMetaData(c1, { header: false })).toBe(
      'instance-id: a051f6ea-30c6-4450-8bce-8c6809b60129\nlocal-hostname: c1\n',
    );
  });
  it('falls back to the name for instance-id and appends user.meta-data raw', () => {
    const i = parseInstanceYaml('name: old\nconfig: {user.meta-data: "local-hostname: x"}\n', 'f');
    expect(renderMetaData(i, { header: false })).toBe('instance-id: old\nlocal-hostname: old\nlocal-hostname: x');
  });
});

describe('config listing', () => {
  it('lists only user.* and cloud-init.* keys, sorted', () => {
    expect(guestConfigKeys(c1.config)).toEqual(['cloud-init.user-data', 'user.foo']);
  });
});

describe('devices', () => {
  it('sorts names and keys and fills NIC hwaddr from volatile', () => {
    const out = guestDevices(
      { root: { type: 'disk', path: '/' }, eth0: { type: 'nic', name: 'eth0' } },
      { 'volatile.eth0.hwaddr': '00:16:3e:01:02:03' },
    );
    expect(JSON.stringify(out)).toBe(
      '{"eth0":{"hwaddr":"00:16:3e:01:02:03","name":"eth0","type":"nic"},"root":{"path":"/","type":"disk"}}',
    );
  });
});

describe('Go JSON', () => {
  it('escapes HTML only when asked, and always U+2028', () => {
    expect(goJson({ a: '<b>&\u2028' }, { escapeHTML: true })).toBe('{"a":"\\u003cb\\u003e\\u0026\\u2028"}\n');
    expect(goJson({ a: '<b>&' }, { escapeHTML: false })).toBe('{"a":"<b>&"}\n');
  });
});

describe('errors per dialect', () => {
  it('uses Go http.Error text', () => {
    expect(goTextError(404, 'not found')).toEqual({
      status: 404,
      contentType: 'text/plain; charset=utf-8',
      body: 'not found\n',
    });
    const e = new GuestgateError('E_NOT_IN_INSTANCE', 'x');
    expect(toWireError(e, DIALECTS['lxd-5.0']).body).toBe('pid not in container?\n');
    // lxd 6.x: lxd/api_devlxd.go (>= 6.2) `Process ID not found in container`; 403 `Forbidden` is
    // api.StatusErrorf(http.StatusForbidden) rendered by lxd/response/response.go (>= 6.5).
    expect(toWireError(e, DIALECTS.lxd).body).toBe('Process ID not found in container\n');
    expect(toWireError(new GuestgateError('E_FORBIDDEN', 'x'), DIALECTS.lxd)).toMatchObject({
      status: 403,
      body: 'Forbidden\n',
    });
    expect(toWireError(new Error('boom'), DIALECTS.lxd)).toMatchObject({
      status: 500,
      body: 'internal server error\n',
    });
  });
  it('writes the main-API envelope with two LFs for image export', () => {
    expect(envelopeError(404, 'Image not found').body).toBe(
      '{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"Image not found","metadata":null}\n\n',
    );
    expect(envelopeError(404, 'Image not found').body.length).toBe(120); // LXD 5.0.2 sent Content-Length: 120
    expect(toImageWireError(new GuestgateError('E_FORBIDDEN', 'x'), DIALECTS['lxd-5.0'])).toMatchObject({
      status: 403,
      body: 'not authorized\n',
    });
    expect(toImageWireError(new GuestgateError('E_FORBIDDEN', 'x'), DIALECTS.lxd).body).toContain(
      '"error":"Forbidden"',
    );
  });
});

describe('incus dialect against the Incus 6.0.4 recording', () => {
  it('error answers: non-root, not authorized, not found (status, content type, bytes)', () => {
    expect(toWireError(new GuestgateError('E_NON_ROOT', 'x'), DIALECTS.incus)).toEqual(
      asWire(recorded(INCUS, 'GET /1.0 [as uid 65534]')),
    );
    expect(toWireError(new GuestgateError('E_FORBIDDEN', 'x'), DIALECTS.incus)).toEqual(
      asWire(recorded(INCUS, 'GET /1.0/config/security.nesting')),
    );
    expect(toWireError(new GuestgateError('E_NOT_FOUND', 'x'), DIALECTS.incus)).toEqual(
      asWire(recorded(INCUS, 'GET /1.0/config/user.missing')),
    );
  });

  it('methods: /1.0 refuses all but GET and PATCH with 405; other endpoints run GET for any method', () => {
    const wrong = INCUS.filter((r) => r.step === 'wrongmethods' && / \/1\.0( |$)/.test(r.request));
    expect(wrong.map((r) => r.request.split(' ')[0])).toEqual(['POST', 'PUT', 'DELETE', 'OPTIONS', 'FOO']);
    for (const r of wrong) {
      const method = r.request.split(' ')[0]!;
      let thrown: unknown;
      try {
        methodAction(DIALECTS.incus, 'info', method);
      } catch (e) {
        thrown = e;
      }
      expect(toWireError(thrown, DIALECTS.incus), r.request).toEqual(asWire(r));
    }
    for (const r of INCUS.filter(
      (x) => x.step === 'wrongmethods' && / \/1\.0\/(config|meta-data|devices)/.test(x.request),
    )) {
      const endpoint = r.request.includes('meta-data')
        ? 'metaData'
        : r.request.includes('devices')
          ? 'devices'
          : 'config';
      expect([r.status, methodAction(DIALECTS.incus, endpoint, r.request.split(' ')[0]!)], r.request).toEqual([
        200,
        'get',
      ]);
    }
  });

  it('PATCH /1.0 errors: raw Go decoder texts and invalid states', () => {
    const patchError = (body: string): unknown => {
      try {
        const state = decodeStatePut(body);
        return new GuestgateError('E_INVALID_STATE', 'x', { state }); // as routes/info.ts throws it
      } catch (e) {
        const msg = (e as Error).message;
        return new GuestgateError('E_BAD_REQUEST', msg, { decodeError: msg }); // patchDecodeError 'raw'
      }
    };
    expect(DIALECTS.incus.patchDecodeError).toBe('raw');
    for (const body of ['', 'not json', '{"state":"ready"}', '{"state":"Stopped"}']) {
      const rec = recorded(INCUS, `PATCH /1.0 body=b'${body}'`);
      expect(toWireError(patchError(body), DIALECTS.incus), body).toEqual(asWire(rec));
    }
  });

  it('image export: the closed gate is plain text; unknown, prefix and wrong project are envelopes naming the fingerprint', () => {
    const fp = '7ec99f4c0be100621d168b9170b4aa7138356b7aecc41c22b220e9ae6afb3305';
    const gate = recorded(INCUS, `GET /1.0/images/${fp}/export [full fp]`, 'image, security.guestapi.images unset');
    expect(toImageWireError(new GuestgateError('E_FORBIDDEN', 'x'), DIALECTS.incus)).toEqual(asWire(gate));
    const step = 'image, security.guestapi.images=true, image public';
    for (const [request, requested] of [
      [`GET /1.0/images/${'0'.repeat(64)}/export [unknown fp]`, '0'.repeat(64)],
      ['GET /1.0/images/7ec99f4c0be1/export [12-char prefix]', '7ec99f4c0be1'],
      [`GET /1.0/images/${fp}/export?project=nope [full fp ?project=nope]`, fp],
    ] as const) {
      const code = requested.length === 64 ? 'E_IMAGE_NOT_FOUND' : 'E_BAD_FINGERPRINT';
      const e = new GuestgateError(code, 'x', { fingerprint: requested });
      expect(toImageWireError(e, DIALECTS.incus), request).toEqual(asWire(recorded(INCUS, request, step)));
    }
  });
});

describe('methods per dialect', () => {
  it('LXD 5.0 runs GET logic for every method', () => {
    for (const m of ['GET', 'POST', 'PATCH', 'DELETE', 'BREW'])
      expect(methodAction(DIALECTS['lxd-5.0'], 'info', m)).toBe('get');
  });
  it('Incus: PATCH /1.0 sets readiness (the 405 cases are checked against the recording above)', () => {
    expect(methodAction(DIALECTS.incus, 'info', 'PATCH')).toBe('patch');
  });
  // lxd 6.x: the per-endpoint method table of lxd/api_devlxd.go (lxd-6.4 .. lxd-6.8): a known verb without
  // a handler is 501 `Not Implemented`, any other verb 404 `Method "X" not found`.
  it('LXD 6.x: 501 for known verbs without a handler, 404 for unknown verbs', () => {
    expect(() => methodAction(DIALECTS.lxd, 'config', 'DELETE')).toThrow(
      expect.objectContaining({ code: 'E_METHOD_NOT_IMPLEMENTED' }),
    );
    expect(() => methodAction(DIALECTS.lxd, 'config', 'BREW')).toThrow(
      expect.objectContaining({ code: 'E_UNKNOWN_METHOD' }),
    );
  });
});

describe('request parsing', () => {
  it('decodes keys like Go url.PathUnescape', () => {
    expect(pathUnescape('user%2efoo')).toBe('user.foo');
    expect(pathUnescape('user.%C3%A3')).toBe('user.ã');
    expect(() => pathUnescape('user.%zz')).toThrow(expect.objectContaining({ code: 'E_BAD_REQUEST' }));
  });
  it('cleans paths like Go, keeping a trailing slash', () => {
    expect(cleanPath('//1.0')).toBe('/1.0');
    expect(cleanPath('/1.0/./config')).toBe('/1.0/config');
    expect(cleanPath('/1.0/../1.0/')).toBe('/1.0/');
  });
  it('decodes PATCH bodies with Go-worded errors', () => {
    expect(decodeStatePut('{"state":"Ready"}')).toBe('Ready');
    expect(decodeStatePut('{"state":"Ready"} trailing')).toBe('Ready');
    expect(decodeStatePut('{"other":1}')).toBeUndefined();
    expect(() => decodeStatePut('')).toThrow('EOF');
    // Go's scanner names a broken literal (Incus 6.0.4 answered `not json` so; see the recording test above)
    expect(() => decodeStatePut('notjson')).toThrow("invalid character 'o' in literal null (expecting 'u')");
    expect(() => decodeStatePut('tru')).toThrow('unexpected EOF');
    expect(() => decodeStatePut('xyz')).toThrow("invalid character 'x' looking for beginning of value");
    expect(() => decodeStatePut('[1]')).toThrow('cannot unmarshal array');
  });
});

describe('dialect options', () => {
  it('defaults raw values to UTF-8 text and keeps exact bytes on request', () => {
    expect(dialectFor('lxd-5.0', 'utf8').rawContentType).toBe(UTF8_TEXT);
    expect(dialectFor('lxd-5.0', 'dialect').rawContentType).toBe('application/octet-stream');
  });
  it('treats only false-ish values as disabled', () => {
    expect(isDisabled({ 'security.devlxd': 'false' }, 'security.devlxd')).toBe(true);
    expect(isDisabled({ 'security.devlxd': '' }, 'security.devlxd')).toBe(false);
    expect(isDisabled({}, 'security.devlxd')).toBe(false);
  });
});

describe('guest error texts come from the mapper (domain errors carry facts, not wire text)', () => {
  const raw = Object.values(DIALECTS).find((d) => d.patchDecodeError === 'raw')!;
  const prefixed = Object.values(DIALECTS).find((d) => d.patchDecodeError === 'prefixed')!;

  it('PATCH body errors: decoder words, prefixed per dialect; size limit; bad state', () => {
    const decode = new GuestgateError('E_BAD_REQUEST', 'EOF', { decodeError: 'EOF' });
    expect(toWireError(decode, raw).body).toBe('EOF\n');
    expect(toWireError(decode, prefixed).body).toBe('Invalid request body: EOF\n');
    const big = new GuestgateError('E_BAD_REQUEST', 'request body too large', { maxBytes: 4096 });
    expect(toWireError(big, raw)).toMatchObject({
      status: 400,
      body: 'Invalid request body: larger than 4096 bytes\n',
    });
    expect(toWireError(new GuestgateError('E_INVALID_STATE', 'invalid state', { state: 'ready' }), raw).body).toBe(
      'Invalid state "ready"\n',
    );
    expect(toWireError(new GuestgateError('E_INVALID_STATE', 'invalid state', { state: undefined }), raw).body).toBe(
      'Invalid state ""\n',
    );
    expect(toWireError(new GuestgateError('E_BAD_REQUEST', 'bad percent-escape'), raw).body).toBe(
      `${raw.text.badRequest}\n`,
    );
  });

  it('a websocket upgrade refused before Koa gets a whole HTTP/1.1 response with the standard reason phrase', () => {
    const w = toWireError(new GuestgateError('E_NON_ROOT', 'caller is not the instance root'), raw);
    expect(rawResponse(w)).toBe(
      `HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(w.body)}\r\nConnection: close\r\n\r\n${w.body}`,
    );
    expect(rawResponse(toWireError(new Error('boom'), raw))).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
  });
});
