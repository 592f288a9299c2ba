// On-disk layout of the cache. Pure: nothing here touches the disk. The format version is part of
// the folder names, so a future layout can live next to this one and old data is never misread.
//
//   <cache_dir>/CACHEDIR.TAG
//   <cache_dir>/content-v1/sha256/ab/cd/<hex>   blobs, named by the sha256 of their own bytes
//   <cache_dir>/images-v1/<fingerprint>.json     manifests (one small JSON file per image)
//   <cache_dir>/tmp/                             in-progress fills; swept at start
import { join } from 'node:path';
import { GuestgateError } from '../../errors.ts';
import { isDigest } from '../fingerprint.ts';

export const CONTENT_DIR = 'content-v1';
export const MANIFEST_DIR = 'images-v1';
export const TMP_DIR = 'tmp';

function checked(digest: string): string {
  if (!isDigest(digest))
    throw new GuestgateError('E_BAD_FINGERPRINT', 'not a sha256 digest', { digest: String(digest).slice(0, 80) });
  return digest;
}

/** Where the cache lives unless images.cache_dir says: <state_dir>/images. */
export const defaultCacheDir = (cfg: { readonly cache_dir?: string | undefined }, stateDir: string): string =>
  cfg.cache_dir ?? join(stateDir, 'images');

export const contentRoot = (cacheDir: string): string => join(cacheDir, CONTENT_DIR, 'sha256');

export function blobPath(cacheDir: string, digest: string): string {
  const d = checked(digest);
  return join(contentRoot(cacheDir), d.slice(0, 2), d.slice(2, 4), d);
}

export const manifestDir = (cacheDir: string): string => join(cacheDir, MANIFEST_DIR);
export const manifestPath = (cacheDir: string, fingerprint: string): string =>
  join(manifestDir(cacheDir), `${checked(fingerprint)}.json`);
export const tmpDir = (cacheDir: string): string => join(cacheDir, TMP_DIR);

/** https://bford.info/cachedir/ : backup tools skip folders holding this file. */
export const CACHEDIR_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by guestgate.\n# For information about cache directory tags, see https://bford.info/cachedir/\n';
