import { createMemoryEventStore } from '../../../src/adapters/stores/memory.js';
import { describeEventStoreContract } from './event-store.contract.js';

describeEventStoreContract('memory', async () => ({ open: async () => createMemoryEventStore() }), { crossProcess: false });
