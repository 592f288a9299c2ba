// Method semantics per dialect (pure). Returns which handler runs, or throws the dialect's error.
import { GuestgateError } from '../errors.ts';
import type { Dialect, Endpoint } from './dialects.ts';

const KNOWN = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export function methodAction(d: Dialect, endpoint: Endpoint, method: string): 'get' | 'patch' {
  const canPatch = endpoint === 'info' && d.readyState;
  switch (d.methods) {
    case 'any':
      return 'get';
    case 'info-only':
      if (endpoint !== 'info') return 'get';
      if (method === 'GET') return 'get';
      if (method === 'PATCH' && canPatch) return 'patch';
      throw new GuestgateError('E_METHOD_NOT_ALLOWED', 'method not allowed', { method });
    case 'per-endpoint':
      if (method === 'GET') return 'get';
      if (method === 'PATCH' && canPatch) return 'patch';
      if (!KNOWN.has(method)) throw new GuestgateError('E_UNKNOWN_METHOD', 'unknown method', { method });
      throw new GuestgateError('E_METHOD_NOT_IMPLEMENTED', 'method not implemented', { method });
  }
}
