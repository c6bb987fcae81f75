import type { GlobalValues } from '../args.js';
import { openSession, type Io, type Session } from '../session.js';

/** Opens the store for one command and always closes it, whatever the command did. */
export const withSession = async (
  command: string,
  globals: GlobalValues,
  io: Io,
  body: (session: Session) => Promise<number>,
): Promise<number> => {
  const session = await openSession(command, globals, io);
  try {
    return await body(session);
  } finally {
    await session.plane.close();
  }
};
