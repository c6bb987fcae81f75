#!/usr/bin/env node
import { main } from '../dist/opl-noded.mjs';

const code = await main(process.argv.slice(2), { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text), env: process.env });
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
