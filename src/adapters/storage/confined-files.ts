import { constants, type BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, realpath, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;

/**
 * Files kept inside one directory whatever the directory holds. The directory itself
 * is resolved once (realpath: an operator may well have made it a link); below it,
 * no name is ever followed. Each directory is opened with O_NOFOLLOW and the next
 * name is looked up *in that open directory* through /proc/self/fd/N — Linux's
 * openat() as a path — so a link swapped in between a check and a use is not
 * followed either. What is opened is checked with fstat: a regular file with one
 * link (a hard link planted to a file elsewhere shares its inode), the same inode
 * the name has (lstat). Every refusal is one line naming the disk and the directory.
 */

export class ConfinementError extends Error {
  override readonly name = 'ConfinementError';
}

/** One disk file: `<root>/<dirs…>/<name>`, as the operator knows it (`shown`). */
export interface ConfinedPath {
  root: string;
  dirs: string[];
  name: string;
  /** How messages name the disk: `sharedfile disk /srv/shared/web/disk0`. */
  shown: string;
  /** The path as configured (root not resolved), for messages about a missing file. */
  full: string;
  /** What the files are, for refusals (default: disk files). */
  kind?: string;
}

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;
const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;
const lstatOrNone = async (path: string): Promise<BigIntStats | undefined> => {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
};

const refuse = (p: ConfinedPath, what: string): ConfinementError =>
  new ConfinementError(`${p.shown}: ${what}; ${p.kind ?? 'disk files'} and the directories that hold them must be plain, inside ${p.root} (nothing was changed)`);

const kindOf = (s: BigIntStats): string => (s.isSymbolicLink() ? 'a symbolic link' : s.isDirectory() ? 'a directory' : s.isFile() ? 'a file' : 'not a regular file');

/** The storage directory, resolved once; made first when `create` (a node's own directory). */
const openRoot = async (p: ConfinedPath, create: boolean): Promise<FileHandle | undefined> => {
  if (create) await mkdir(p.root, { recursive: true });
  let real;
  try {
    real = await realpath(p.root);
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
  return open(real, O_RDONLY | O_DIRECTORY);
};

/**
 * Opens the directory that holds the file, one component at a time, never following a
 * link; undefined when one is missing (and not to be made). `made` gets the
 * directories this call made, deepest last, so a failure can take them back.
 */
const openParent = async (p: ConfinedPath, create: boolean, made: string[] = []): Promise<FileHandle | undefined> => {
  let dir = await openRoot(p, create);
  for (const [i, component] of p.dirs.entries()) {
    if (!dir) return undefined;
    const path = at(dir, component);
    const shown = `'${p.dirs.slice(0, i + 1).join('/')}'`;
    try {
      const before = await lstatOrNone(path);
      if (!before && create) {
        // Someone else may make it at the same moment: then it is theirs, not to take back.
        const mine = await mkdir(path).then(
          () => true,
          (error: unknown) => {
            if (code(error) !== 'EEXIST') throw error;
            return false;
          },
        );
        if (mine) made.push(p.dirs.slice(0, i + 1).join('/'));
      } else if (!before) {
        await dir.close();
        return undefined;
      } else if (!before.isDirectory()) {
        throw refuse(p, `${shown} is ${kindOf(before)}, not a directory`);
      }
      const next = await open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch(async (error: unknown) => {
        if (code(error) === 'ENOENT') return undefined; // gone since it was looked at
        if (code(error) !== 'ELOOP' && code(error) !== 'ENOTDIR') throw error;
        // Looked at again: a directory once more means it was swapped and back in between.
        const now = (await lstatOrNone(path)) ?? before!;
        throw refuse(p, now.isDirectory() ? `${shown} changed while it was being opened` : `${shown} is ${kindOf(now)}, not a directory`);
      });
      if (!next) {
        if (create) throw refuse(p, `${shown} changed while it was being opened`);
        await dir.close();
        return undefined;
      }
      await dir.close();
      dir = next;
    } catch (error) {
      await dir.close();
      throw error;
    }
  }
  return dir;
};

/** Refuses a name that is a link, not a regular file, or a second name of a file elsewhere. */
const checkPlainFile = (p: ConfinedPath, s: BigIntStats): void => {
  if (!s.isFile()) throw refuse(p, `'${p.name}' is ${kindOf(s)}`);
  if (s.nlink !== 1n) throw refuse(p, `'${p.name}' has ${s.nlink} hard links; a disk file has one`);
};

/** The file opened read-write (or read-only) and checked; made (empty) when `create` and missing; undefined when missing. */
const openFile = async (dir: FileHandle, p: ConfinedPath, create: boolean, mode = O_RDWR): Promise<FileHandle | undefined> => {
  const path = at(dir, p.name);
  const before = await lstatOrNone(path);
  if (before) checkPlainFile(p, before); // nothing is opened that is not a plain file
  if (!before && !create) return undefined;
  let handle: FileHandle;
  try {
    handle = await open(path, mode | O_NOFOLLOW | (before ? 0 : O_CREAT | O_EXCL), 0o600);
  } catch (error) {
    if (code(error) === 'ENOENT' && !create) return undefined; // gone since it was looked at
    if (code(error) === 'ELOOP') throw refuse(p, `'${p.name}' is a symbolic link`);
    if (code(error) === 'EEXIST') throw refuse(p, `'${p.name}' appeared while it was being made`);
    throw error;
  }
  try {
    const opened = await handle.stat({ bigint: true });
    const named = await lstatOrNone(path);
    checkPlainFile(p, opened);
    if (!named || named.dev !== opened.dev || named.ino !== opened.ino) throw refuse(p, `'${p.name}' changed while it was being opened`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
};

/** A system error in our words: the disk's name, not the /proc/self/fd path it was reached by. */
const readable = (p: ConfinedPath, error: unknown): unknown => {
  const e = error as NodeJS.ErrnoException;
  return e instanceof ConfinementError || !e.code || e.message.startsWith('disk file') ? error : new Error(`${p.shown}: ${e.syscall ?? 'access'} failed with ${e.code}`);
};

const withParent = async <T>(p: ConfinedPath, create: boolean, use: (dir: FileHandle | undefined) => Promise<T>): Promise<T> => {
  const made: string[] = [];
  let dir: FileHandle | undefined;
  try {
    dir = await openParent(p, create, made);
    return await use(dir);
  } catch (error) {
    // Directories this call made are taken back (only while empty), newest first.
    for (const d of made.reverse()) await rmdir(`${(await realpath(p.root))}/${d}`).catch(() => undefined);
    throw readable(p, error);
  } finally {
    await dir?.close();
  }
};

/** Makes the file if it is not there, and grows it (sparse) to at least `bytes`; answers its size. */
export const ensureFile = async (p: ConfinedPath, bytes: number, create: boolean): Promise<number | undefined> =>
  withParent(p, create, async (dir) => {
    const file = dir && (await openFile(dir, p, create));
    if (!file) return undefined;
    try {
      const { size } = await file.stat();
      if (size < bytes) await file.truncate(bytes);
      return Math.max(size, bytes);
    } finally {
      await file.close();
    }
  });

/**
 * Up to `max` bytes of the file from `offset` (from its start when it is shorter than
 * that: it was made again), read-only; undefined when missing.
 */
export const readPiece = async (p: ConfinedPath, offset: number, max: number): Promise<{ data: Buffer; next: number; size: number } | undefined> =>
  withParent(p, false, async (dir) => {
    const file = dir && (await openFile(dir, p, false, O_RDONLY));
    if (!file) return undefined;
    try {
      const { size } = await file.stat();
      const from = offset > size ? 0 : offset;
      const data = Buffer.alloc(Math.min(max, size - from));
      const { bytesRead } = await file.read(data, 0, data.length, from);
      // Cut short (it was made again meanwhile): what was read is all there is for now.
      return { data: data.subarray(0, bytesRead), next: from + bytesRead, size: bytesRead < data.length ? from + bytesRead : size };
    } finally {
      await file.close();
    }
  });

/** The file's size, checked to be a plain file inside the directory; undefined when missing. */
export const fileSize = async (p: ConfinedPath): Promise<number | undefined> =>
  withParent(p, false, async (dir) => {
    const s = dir && (await lstatOrNone(at(dir, p.name)));
    if (!s) return undefined;
    checkPlainFile(p, s);
    return Number(s.size);
  });

/** Removes the file (never what a link points at: a link is refused), then its directory once empty. */
export const removeFile = async (p: ConfinedPath): Promise<void> => {
  const parentDirs = { ...p, dirs: p.dirs.slice(0, -1), name: p.dirs[p.dirs.length - 1] ?? '' };
  await withParent(p, false, async (dir) => {
    const s = dir && (await lstatOrNone(at(dir, p.name)));
    if (!dir || !s) return;
    if (!s.isFile()) throw refuse(p, `'${p.name}' is ${kindOf(s)}`);
    await unlink(at(dir, p.name));
  });
  if (p.dirs.length > 0) await removeEmptyDir(parentDirs);
};

/** rmdir of the last directory, looked up without following links; a link or a non-empty directory stays. */
const removeEmptyDir = async (p: ConfinedPath): Promise<void> =>
  withParent(p, false, async (dir) => {
    const s = dir && (await lstatOrNone(at(dir, p.name)));
    if (dir && s?.isDirectory()) await rmdir(at(dir, p.name)).catch(() => undefined);
  });

/**
 * Moves a file to a new name inside the same directory tree. The destination must not
 * exist (a link there is refused like anything else): the move is a hard link made
 * where nothing is (link(2) never replaces and never follows) and then the old name
 * unlinked. Done again after a crash between the two, it finishes the move.
 */
export const moveFile = async (from: ConfinedPath, to: ConfinedPath): Promise<'moved' | 'already'> => {
  const outcome = await withParent(from, false, async (fromDir) =>
    withParent(to, true, async (toDir) => {
      const source = fromDir && (await lstatOrNone(at(fromDir, from.name)));
      const dest = await lstatOrNone(at(toDir!, to.name));
      if (dest && !dest.isFile()) throw refuse(to, `'${to.name}' is ${kindOf(dest)}; the new name must be free`);
      if (!source) {
        if (!dest) throw new Error(`disk file ${from.full} is missing`);
        checkPlainFile(to, dest);
        return 'already' as const;
      }
      if (!source.isFile()) throw refuse(from, `'${from.name}' is ${kindOf(source)}`);
      if (dest && (dest.dev !== source.dev || dest.ino !== source.ino)) throw refuse(to, `'${to.name}' already exists; the new name must be free`);
      if (!dest) {
        if (source.nlink !== 1n) throw refuse(from, `'${from.name}' has ${source.nlink} hard links; a disk file has one`);
        await link(at(fromDir!, from.name), at(toDir!, to.name)).catch(async (error: unknown) => {
          if (code(error) === 'EEXIST') throw refuse(to, `'${to.name}' already exists; the new name must be free`);
          // A filesystem without hard links: rename, the destination having just been seen free.
          if (code(error) !== 'EPERM' && code(error) !== 'EOPNOTSUPP') throw error;
          await rename(at(fromDir!, from.name), at(toDir!, to.name));
        });
      }
      await unlink(at(fromDir!, from.name)).catch((error: unknown) => {
        if (code(error) !== 'ENOENT') throw error;
      });
      return 'moved' as const;
    }),
  );
  if (outcome === 'moved' && from.dirs.length > 0) {
    await removeEmptyDir({ ...from, dirs: from.dirs.slice(0, -1), name: from.dirs[from.dirs.length - 1]! });
  }
  return outcome;
};
