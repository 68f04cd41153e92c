import { buildFrame, buildSegment } from './frame.js';
import type { Hj212Packet } from './parse.js';

/**
 * Responses from the platform (上位机) to the station (现场机), HJ 212-2017 交互命令 (ST=91) and the examples of its Appendix C.
 * They are "interaction" commands (ST=91, 系统交互) that echo the request's QN so the station can
 * match them to what it sent, and carry Flag with A=0: a response is never itself answered.
 */

/** ST for system interaction (交互命令). */
export const ST_INTERACTION = '91';
export const CN_REQUEST_RESPONSE = '9011';
export const CN_EXECUTION_RESULT = '9012';
export const CN_NOTICE_RESPONSE = '9013';
export const CN_DATA_RESPONSE = '9014';

/** Request response codes, QnRtn (请求命令返回 table). */
export const QN_RTN = {
  accepted: 1,
  refused: 2,
  badPassword: 3,
  badMn: 4,
  badSt: 5,
  badFlag: 6,
  badQn: 7,
  badCn: 8,
  badCrc: 9,
  unknown: 100,
} as const;

/** Execution result codes, ExeRtn (执行结果定义 table). */
export const EXE_RTN = {
  success: 1,
  failed: 2,
  badCondition: 3,
  timeout: 4,
  busy: 5,
  fault: 6,
  noData: 100,
} as const;

/** Version bits of the request's Flag, A and D cleared: answer in the dialect it was asked in. */
function responseFlag(p: Hj212Packet): number {
  return (p.flag ?? 0b100) & ~0b11;
}

function respond(p: Hj212Packet, cn: string, cp: string): Buffer {
  return buildFrame(
    buildSegment({
      ...(p.qn === undefined ? {} : { qn: p.qn }),
      st: ST_INTERACTION,
      cn,
      pw: p.pw ?? '',
      mn: p.mn,
      flag: responseFlag(p),
      cp,
    }),
  );
}

/** 9014 data response (数据应答): uploaded data was received. Empty CP. */
export function dataResponse(p: Hj212Packet): Buffer {
  return respond(p, CN_DATA_RESPONSE, '');
}

/** 9011 request response (请求应答): whether a request will be executed. */
export function requestResponse(p: Hj212Packet, qnRtn: number): Buffer {
  return respond(p, CN_REQUEST_RESPONSE, `QnRtn=${qnRtn}`);
}

/** 9012 execution result (执行结果). */
export function executionResult(p: Hj212Packet, exeRtn: number): Buffer {
  return respond(p, CN_EXECUTION_RESULT, `ExeRtn=${exeRtn}`);
}
