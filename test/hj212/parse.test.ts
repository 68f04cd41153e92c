import { describe, expect, it } from 'vitest';
import { FLAG_ANSWER, FLAG_PACKETISED, parseDataSegment } from '../../processors/hj212/parse.js';
import { dataResponse } from '../../processors/hj212/respond.js';
import { PUBLISHED } from './published.js';

function segmentOf(frame: string): string {
  return frame.slice(6, 6 + Number(frame.slice(2, 6)));
}

describe('parseDataSegment', () => {
  it('parses the header and CP of a published real-time frame', () => {
    const r = parseDataSegment(segmentOf(PUBLISHED[1]!.frame));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.packet;
    expect(p).toMatchObject({
      qn: '20220928142812336',
      st: '22',
      cn: '2011',
      pw: '123456',
      mn: 'JSRCTD000YD107',
      flag: 5,
    });
    expect(p.cp.dataTime).toBe('20220928142812');
    expect(p.cp.values.get('a34002')?.get('Rtd')).toBe('5');
    expect(p.cp.values.get('a21005')?.get('Rtd')).toBe('0.36');
    // Flag before Rtd within a group, as this vendor sends it
    expect(p.cp.values.get('l01001')?.get('Flag')).toBe('N');
    expect(p.cp.values.get('l01001')?.get('Rtd')).toBe('119.90287');
    expect((p.flag ?? 0) & FLAG_ANSWER).toBe(1);
  });

  it('parses plain CP parameters and a frame without Flag', () => {
    const a = parseDataSegment(segmentOf(PUBLISHED[0]!.frame));
    expect(a.ok && a.packet.cp.params.get('RtdInterval')).toBe('30');
    const b = parseDataSegment(segmentOf(PUBLISHED[2]!.frame));
    expect(b.ok && b.packet.flag).toBe(undefined);
    expect(b.ok && b.packet.cp.values.size).toBe(5);
  });

  it('parses minute data, packetised fields and unknown keys', () => {
    const r = parseDataSegment(
      'QN=20260101080100000;ST=22;CN=2051;PW=1;MN=M1;Flag=7;PNUM=2;PNO=1;Vendor=x;CP=&&DataTime=20260101080000;a34002-Avg=81.5,a34002-Min=60,a34002-Max=99,a34002-Flag=N,a34002-Cou=1.2&&',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packet.pnum).toBe(2);
    expect(r.packet.pno).toBe(1);
    expect((r.packet.flag ?? 0) & FLAG_PACKETISED).toBe(FLAG_PACKETISED);
    expect(r.packet.extra.get('Vendor')).toBe('x');
    expect(Object.fromEntries(r.packet.cp.values.get('a34002') ?? [])).toEqual({
      Avg: '81.5',
      Min: '60',
      Max: '99',
      Flag: 'N',
      Cou: '1.2',
    });
  });

  it.each([
    ['no CP', 'QN=1;ST=22;CN=2011;PW=1;MN=X'],
    ['unclosed CP', 'QN=1;ST=22;CN=2011;PW=1;MN=X;CP=&&DataTime=1'],
    ['missing MN', 'QN=1;ST=22;CN=2011;PW=1;CP=&&&&'],
    ['missing CN', 'QN=1;ST=22;PW=1;MN=X;CP=&&&&'],
    ['non-numeric CN', 'QN=1;ST=22;CN=20x1;PW=1;MN=X;CP=&&&&'],
    ['bad Flag', 'QN=1;ST=22;CN=2011;PW=1;MN=X;Flag=A;CP=&&&&'],
    ['header item without =', 'QN=1;ST=22;CN=2011;PW;MN=X;CP=&&&&'],
    ['CP item without =', 'QN=1;ST=22;CN=2011;PW=1;MN=X;CP=&&a34002-Rtd&&'],
    ['text after CP', 'QN=1;ST=22;CN=2011;PW=1;MN=X;CP=&&&&junk'],
  ])('refuses %s', (_name, seg) => {
    const r = parseDataSegment(seg);
    expect(r.ok).toBe(false);
  });

  it('does not let CP keys reach the object prototype', () => {
    const r = parseDataSegment('ST=22;CN=2011;PW=1;MN=X;CP=&&__proto__-Rtd=1;constructor=2&&');
    expect(r.ok).toBe(true);
    expect(({} as Record<string, unknown>).Rtd).toBeUndefined();
  });
});

describe('responses', () => {
  it('answers a 2017 frame with 9014, same QN, ST=91, Flag=4, empty CP', () => {
    const r = parseDataSegment(segmentOf(PUBLISHED[1]!.frame));
    if (!r.ok) throw new Error(r.detail);
    const text = dataResponse(r.packet).toString('latin1');
    const seg = 'QN=20220928142812336;ST=91;CN=9014;PW=123456;MN=JSRCTD000YD107;Flag=4;CP=&&&&';
    expect(text.startsWith(`##${String(seg.length).padStart(4, '0')}${seg}`)).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
  });
});
