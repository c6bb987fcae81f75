#!/usr/bin/env node
import { main } from '../dist/opl.mjs';

const io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};
const code = await main(process.argv.slice(2), io);
// Exit once output is flushed, whatever timers a driver or store left behind.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
