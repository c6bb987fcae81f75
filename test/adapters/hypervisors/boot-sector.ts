import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Writes a boot sector at the start of a disk: 16-bit code that sends `line` to COM1 (0x3f8)
 * and halts, so a guest that booted its disk (not a kernel) says so on its console. It hears
 * no ACPI power button: only its hypervisor ends it.
 */
export const writeBootSector = (file: string, line: string): void => {
  // xor ax,ax; mov ds,ax; mov dx,0x3f8; mov si,0x7c16; cld; next: lodsb; test al,al; jz end; out dx,al; jmp next; end: hlt; jmp end
  const code = Buffer.from([0x31, 0xc0, 0x8e, 0xd8, 0xba, 0xf8, 0x03, 0xbe, 0x16, 0x7c, 0xfc, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd]);
  const sector = Buffer.alloc(512);
  Buffer.concat([code, Buffer.from(`${line}\r\n\0`)]).copy(sector);
  sector.writeUInt16LE(0xaa55, 510);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, sector, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
};
