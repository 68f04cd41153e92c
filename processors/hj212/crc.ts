/**
 * The CRC of HJ 212-2017 Appendix A (附录 A, CRC 校验算法).
 *
 * It is the reflected CRC-16 with polynomial 0xA001 and register preset 0xFFFF, but the standard's
 * reference code folds each byte in as `crc = (crc >> 8) ^ byte` instead of Modbus's
 * `crc ^= byte`: the register's high byte is shifted down and the low byte is thrown away before
 * the eight shift/xor rounds. The result is therefore NOT CRC-16/MODBUS; a frame checked with the
 * Modbus routine fails against every real device. The check value is sent as 4 hex digits
 * (HJ 212-2017 通讯包结构组成 table) after the data segment and covers the data segment only.
 */

const TABLE = buildTable();

function buildTable(): Uint16Array {
  // After `(crc >> 8) ^ byte` the register is < 0x100, so its eight rounds depend on that byte alone.
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i;
    for (let j = 0; j < 8; j++) r = r & 1 ? (r >>> 1) ^ 0xa001 : r >>> 1;
    t[i] = r;
  }
  return t;
}

/** CRC over bytes [start, end) of `data`. */
export function hj212Crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = TABLE[((crc >>> 8) ^ (data[i] as number)) & 0xff] as number;
  return crc;
}

/** CRC of an ASCII/UTF-8 string, as the 4 upper-case hex digits a frame carries. */
export function hj212CrcHex(segment: string | Uint8Array): string {
  const bytes = typeof segment === 'string' ? Buffer.from(segment, 'utf8') : segment;
  return crcToHex(hj212Crc16(bytes));
}

export function crcToHex(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}
