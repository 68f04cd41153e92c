import { describe, expect, it } from 'vitest';
import { hj212Crc16, hj212CrcHex } from '../../processors/hj212/crc.js';
import { PUBLISHED } from './published.js';

function split(frame: string): { segment: string; crc: string } {
  const len = Number(frame.slice(2, 6));
  return { segment: frame.slice(6, 6 + len), crc: frame.slice(6 + len, 10 + len) };
}

describe('HJ 212 CRC16 (HJ 212-2017 Appendix A)', () => {
  for (const { source, frame } of PUBLISHED) {
    it(`matches the published CRC of: ${source}`, () => {
      const { segment, crc } = split(frame);
      expect(segment.length).toBe(Number(frame.slice(2, 6)));
      expect(hj212CrcHex(segment)).toBe(crc.toUpperCase());
    });
  }

  it('is not CRC-16/MODBUS (whose check value for "123456789" is 0x4B37)', () => {
    const bytes = Buffer.from('123456789');
    expect(hj212Crc16(bytes)).not.toBe(0x4b37);
  });

  it('covers exactly the given range', () => {
    const seg =
      'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&';
    const padded = Buffer.from(`##0101${seg}1C80\r\n`);
    expect(hj212Crc16(padded, 6, 6 + seg.length)).toBe(0x1c80);
  });
});
