import { describeClusterLifecycle } from './cluster-lifecycle.e2e.js';

describeClusterLifecycle('SQLite (the embedded default)', () => undefined);
