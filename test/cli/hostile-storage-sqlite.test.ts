import { describeHostileStorage } from './hostile-storage.e2e.js';

describeHostileStorage('SQLite (the embedded default)', () => undefined);
