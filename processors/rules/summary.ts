import type { AlertEventType, Severity } from '../alerts/event.js';
import type { Device, Family, LocationPath } from '../types.js';
import type { WindowFn } from './expr.js';

/** The one-line human summaries of an alert event, in Chinese and English. */

const SEVERITY_ZH: Record<Severity, string> = { blue: '蓝色', yellow: '黄色', orange: '橙色', red: '红色' };
const FAMILY_ZH: Record<Family, string> = {
  flood: '水位计',
  dust: '扬尘监测仪',
  air: '空气质量监测站',
  access: '门禁',
  camera: '摄像机',
};
const METRIC_NAMES: Record<string, [zh: string, en: string]> = {
  water_level_m: ['水位', 'Water level'],
  rain_mm: ['降雨量', 'Rainfall'],
  pm25_ugm3: ['PM2.5', 'PM2.5'],
  pm10_ugm3: ['PM10', 'PM10'],
  tsp_ugm3: ['TSP', 'TSP'],
  noise_dba: ['噪声', 'Noise'],
  wind_speed_ms: ['风速', 'Wind speed'],
  aqi: ['AQI', 'AQI'],
  no2_ugm3: ['NO₂', 'NO2'],
  so2_ugm3: ['SO₂', 'SO2'],
  o3_ugm3: ['O₃', 'O3'],
  co_mgm3: ['CO', 'CO'],
  battery_v: ['电池电压', 'Battery'],
  online: ['在线', 'Online'],
  count: ['次数', 'Count'],
  // camera picture measures (视频质量诊断)
  fps: ['帧率', 'Frame rate'],
  bitrate_kbps: ['码率', 'Bit rate'],
  motion_pct: ['画面变化', 'Picture change'],
  luma_avg: ['平均亮度', 'Mean brightness'],
  luma_std: ['亮度对比', 'Brightness contrast'],
  flat_pct: ['无纹理区域', 'Flat area'],
  sharpness_ratio: ['清晰度比', 'Sharpness vs reference'],
  scene_ssim: ['场景相似度', 'Scene similarity'],
  cast_level: ['偏色程度', 'Colour cast'],
};
const FN_NAMES: Record<WindowFn, [zh: string, en: string]> = {
  avg: ['均值', 'average'],
  min: ['最小值', 'minimum'],
  max: ['最大值', 'maximum'],
  count: ['次数', 'count'],
  sum: ['累计', 'total'],
  delta: ['变化量', 'change'],
  rate: ['涨速', 'rate'],
};
const UNIT_TEXT: Record<string, string> = {
  ugm3: 'μg/m³',
  mgm3: 'mg/m³',
  'ugm3/h': 'μg/m³/h',
  ms: 'm/s',
  pct: '%',
  index: '',
  count: '',
  bool: '',
  C: '°C',
  level: '',
  ratio: '',
};
const OP_TEXT: Record<string, string> = { '>': '>', '>=': '≥', '<': '<', '<=': '≤', '==': '=', '!=': '≠' };

export interface SummaryInput {
  type: AlertEventType;
  severity: Severity;
  ruleName: string;
  device?: Device;
  location: LocationPath;
  metric?: string;
  windowFn?: WindowFn;
  windowMs?: number;
  unit?: string;
  value?: number;
  threshold?: number;
  op?: string;
  kind?: 'condition' | 'event' | 'nodata' | 'correlation';
  /** `by` tag values of the incident, e.g. the door of an access controller. */
  by?: Record<string, string>;
  reason?: string;
}

export function summarize(s: SummaryInput): { zh: string; en: string } {
  const place = [s.location.district, s.location.street, s.location.community].filter(Boolean).join(' ');
  const door = s.by?.door ? s.by.door : undefined;
  const who = s.device ? `${FAMILY_ZH[s.device.family]} ${s.device.id}${door ? ` 门${door}` : ''}` : '';
  const sevZh = `${SEVERITY_ZH[s.severity]}预警`;
  const [mZh, mEn] = s.metric ? (METRIC_NAMES[s.metric] ?? [s.metric, s.metric]) : ['', ''];
  const win = s.windowFn && s.windowMs ? windowText(s.windowFn, s.windowMs) : undefined;
  const unit = s.unit !== undefined ? (UNIT_TEXT[s.unit] ?? s.unit) : '';
  const num = (v: number) => `${fmt(v)}${unit ? ` ${unit}` : ''}`;
  let measureZh = s.ruleName;
  let measureEn = s.ruleName;
  if (s.metric && s.value !== undefined) {
    const cmp = s.threshold !== undefined && s.op ? ` ${OP_TEXT[s.op] ?? s.op} ${num(s.threshold)}` : '';
    measureZh = `${mZh}${win ? ` ${win[0]}` : ''} ${num(s.value)}${cmp}`;
    measureEn = `${mEn}${win ? ` (${win[1]})` : ''} ${num(s.value)}${cmp}`;
  }
  const where = s.device ? `${s.device.id}${door ? ` door ${door}` : ''}` : place;
  if (s.kind === 'nodata' && s.value !== undefined) {
    measureZh = `${s.ruleName}，已${fmt(s.value)}分钟无数据`;
    measureEn = `No data for ${fmt(s.value)} min`;
  }
  switch (s.type) {
    case 'alert.resolved':
      return {
        zh: `${[place, who].filter(Boolean).join(' ')} ${s.ruleName} ${s.reason === 'rule_deleted' ? '已解除（规则已删除）' : '已恢复'}（原${sevZh}）`,
        en: `Resolved${s.reason === 'rule_deleted' ? ' (rule deleted)' : ''}: ${s.ruleName} at ${where}`,
      };
    case 'alert.reminder':
      return {
        zh: `${[place, who].filter(Boolean).join(' ')} ${measureZh}（${sevZh}，仍未解除）`,
        en: `Still firing: ${measureEn} at ${where} (${s.severity})`,
      };
    default:
      return {
        zh: `${[place, who].filter(Boolean).join(' ')} ${measureZh}（${sevZh}）`,
        en: `${measureEn} at ${where} (${s.severity})`,
      };
  }
}

function windowText(fn: WindowFn, ms: number): [string, string] {
  const min = ms / 60_000;
  const zhSpan = min >= 60 && min % 60 === 0 ? `${min / 60}小时` : `${min}分钟`;
  const enSpan = min >= 60 && min % 60 === 0 ? `${min / 60} h` : `${min} min`;
  const [zh, en] = FN_NAMES[fn];
  return [`${zhSpan}${zh}`, `${enSpan} ${en}`];
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}
