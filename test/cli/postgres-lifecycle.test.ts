import { freshSchemaUrl } from '../adapters/stores/pg-url.js';
import { describeClusterLifecycle } from './cluster-lifecycle.e2e.js';

describeClusterLifecycle('PostgreSQL', freshSchemaUrl);
