import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { localStorageCheck } from '../../../src/adapters/storage/storage-check.js';
import { storageCheckContract } from './storage-check-contract.js';

const root = mkdtempSync(join(tmpdir(), 'opl-storage-check-'));
mkdirSync(join(root, 'shared'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

storageCheckContract('local nodes', () => ({
  check: localStorageCheck(join(root, 'nodes')),
  shared: join(root, 'shared'),
  fileDirOf: (node) => join(root, 'nodes', node, 'file-storage'),
  nodes: ['n1', 'n2'],
}));
