const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters written back to a terminal could move its cursor, recolour it or
 * worse; whatever we echo shows them as \n, \t or \xNN instead.
 */
export const escapeControl = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** A value the operator typed, quoted for a message. */
export const quote = (text: string): string => `'${escapeControl(text)}'`;
