#!/usr/bin/env node
import { main } from '../dist/opl-ialloc.mjs';

const stdin = async () => {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
};
const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin,
});
process.stdout.write('', () => process.exit(code));
