import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createFileDiskStorage } from '../../../src/adapters/storage/file-disks.js';
import { fileStorageContract } from './file-contract.js';

const root = mkdtempSync(join(tmpdir(), 'opl-file-disks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

fileStorageContract('local nodes', () => ({
  storage: createFileDiskStorage(join(root, 'nodes')),
  shared: mkdtempSync(join(root, 'shared-')),
  fileDirOf: (node) => join(root, 'nodes', node, 'file-storage'),
}));
