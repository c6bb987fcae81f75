import { freshSchemaUrl } from '../adapters/stores/pg-url.js';
import { describeHostileStorage } from './hostile-storage.e2e.js';

describeHostileStorage('PostgreSQL', freshSchemaUrl);
