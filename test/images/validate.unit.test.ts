// The image check, from facts: every problem named, valid images pass.
import { describe, expect, it } from 'vitest';
import { imageProblems, type PartFacts } from '../../src/images/validate.ts';

const meta = { yaml: true, architecture: 'x86_64', creationDate: 1_700_000_000 };
const unified = (over: Partial<PartFacts> = {}): PartFacts => ({
  name: 'u.tar.gz',
  role: 'unified',
  ext: '.tar.gz',
  metadata: { ...meta, rootfs: 'rootfs' },
  ...over,
});

describe('imageProblems', () => {
  it('accepts unified container and VM images and split images', () => {
    expect(imageProblems([unified()])).toEqual([]);
    expect(imageProblems([unified({ metadata: { ...meta, rootfs: 'rootfs.img' } })])).toEqual([]);
    const m: PartFacts = { name: 'm.tar.xz', role: 'metadata', ext: '.tar.xz', metadata: meta };
    expect(imageProblems([m, { name: 'r', role: 'rootfs', ext: '.squashfs' }])).toEqual([]);
    expect(imageProblems([m, { name: 'r', role: 'rootfs', ext: '.tar.zst' }])).toEqual([]);
    expect(imageProblems([m, { name: 'd', role: 'rootfs.img', ext: '.qcow2' }])).toEqual([]);
  });

  it('names a file without tar or compression magic', () => {
    expect(imageProblems([unified({ ext: '', metadata: undefined })])).toEqual([
      'u.tar.gz: not an image tarball (no tar, gzip, xz, lzma, bzip2 or zstd magic)',
    ]);
    expect(imageProblems([unified({ ext: '.squashfs', metadata: undefined })])[0]).toContain('looks like .squashfs');
  });

  it('names a missing metadata.yaml, and the tool when the compression needs one', () => {
    expect(imageProblems([unified({ metadata: undefined })])).toEqual([
      'u.tar.gz: no metadata.yaml in the .tar.gz tarball',
    ]);
    expect(imageProblems([unified({ ext: '.tar.xz', metadata: undefined })])[0]).toContain('`xz` is not installed');
  });

  it('reports every missing field at once', () => {
    expect(imageProblems([unified({ metadata: { yaml: true, architecture: '' } })])).toEqual([
      'u.tar.gz: metadata.yaml has no architecture (or is not valid YAML)',
      'u.tar.gz: metadata.yaml has no creation_date (seconds since 1970)',
      'u.tar.gz: no rootfs/ folder nor rootfs.img in the unified image',
    ]);
  });

  it('checks the rootfs of a split image against its type', () => {
    const m: PartFacts = { name: 'm', role: 'metadata', ext: '.tar', metadata: meta };
    expect(imageProblems([m, { name: 'r', role: 'rootfs', ext: '' }])).toEqual([
      'r: a container rootfs must be squashfs or a tarball (no hsqs nor tar/compression magic)',
    ]);
    expect(imageProblems([m, { name: 'd', role: 'rootfs.img', ext: '.squashfs' }])).toEqual([
      'd: a VM rootfs.img must be qcow2 (no QFI magic)',
    ]);
    // A split metadata tarball needs no rootfs entry of its own.
    expect(imageProblems([m, { name: 'r', role: 'rootfs', ext: '.squashfs' }])).toEqual([]);
  });
});
