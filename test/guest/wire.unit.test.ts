// Pure wire formats and dialect tables, tested without sockets.
import { describe, expect, it } from 'vitest';
import { DIALECTS, dialectFor, isDisabled, UTF8_TEXT } from '../../src/guest/dialects.ts';
import { envelopeError, goTextError, toImageWireError, toWireError } from '../../src/guest/http-errors.ts';
import { methodAction } from '../../src/guest/methods.ts';
import { GuestgateError } from '../../src/errors.ts';
import { cleanPath } from '../../src/guest/app.ts';
import { guestDevices, pathUnescape } from '../../src/guest/routes/basic.ts';
import { decodeStatePut } from '../../src/guest/routes/info.ts';
import { goJson } from '../../src/util/gojson.ts';
import { renderMetaData } from '../../src/cloudinit/meta-data.ts';
import { guestConfigKeys } from '../../src/cloudinit/keys.ts';
import { parseInstanceYaml } from '../../src/inventory/parse.ts';

const c1 = parseInstanceYaml(
  'name: c1\nconfig: {volatile.cloud-init.instance-id: a051f6ea-30c6-4450-8bce-8c6809b60129, user.foo: bar, cloud-init.user-data: "#cloud-config\\n", security.nesting: "true"}\n',
  'c1.yaml',
);

describe('meta-data', () => {
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
    expect(toWireError(e, DIALECTS.lxd).body).toBe('Process ID not found in container\n');
    expect(toWireError(new GuestgateError('E_FORBIDDEN', 'x'), DIALECTS.lxd)).toMatchObject({
      status: 403,
      body: 'Forbidden\n',
    });
    expect(toWireError(new GuestgateError('E_NON_ROOT', 'x'), DIALECTS.incus)).toMatchObject({
      status: 401,
      body: 'Access denied for non-root user\n',
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

describe('methods per dialect', () => {
  it('LXD 5.0 runs GET logic for every method', () => {
    for (const m of ['GET', 'POST', 'PATCH', 'DELETE', 'BREW'])
      expect(methodAction(DIALECTS['lxd-5.0'], 'info', m)).toBe('get');
  });
  it('Incus checks only /1.0 (405)', () => {
    expect(methodAction(DIALECTS.incus, 'info', 'PATCH')).toBe('patch');
    expect(methodAction(DIALECTS.incus, 'config', 'DELETE')).toBe('get');
    expect(() => methodAction(DIALECTS.incus, 'info', 'POST')).toThrow(
      expect.objectContaining({ code: 'E_METHOD_NOT_ALLOWED' }),
    );
    expect(
      toWireError(new GuestgateError('E_METHOD_NOT_ALLOWED', '', { method: 'POST' }), DIALECTS.incus),
    ).toMatchObject({ status: 405, body: 'method "POST" not allowed\n' });
  });
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
    expect(() => decodeStatePut('notjson')).toThrow("invalid character 'o' in literal null (expecting 'u')");
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
