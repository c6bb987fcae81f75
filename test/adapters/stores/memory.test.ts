import { createMemoryEventStore } from '../../../src/adapters/stores/memory.js';
import { describeChainContract } from './event-store-chain.contract.js';
import { describeEventStoreContract } from './event-store.contract.js';

describeEventStoreContract('memory', async () => ({ open: async () => createMemoryEventStore() }), { crossProcess: false });

describeChainContract('memory', async () => ({ open: async () => createMemoryEventStore() }));
