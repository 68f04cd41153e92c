/**
 * Kaifeng (开封市, Henan), as a realistic "one centre, four platforms" location tree for the demo
 * fleet: its ten county-level divisions, streets/towns (街道/乡镇) under each, and a rough centre
 * for each division so devices land on the map where they would be.
 */
export interface District {
  name: string;
  lat: number;
  lon: number;
  streets: readonly string[];
}

export const KAIFENG_DISTRICTS: readonly District[] = [
  {
    name: '鼓楼区',
    lat: 34.788,
    lon: 114.348,
    streets: ['西司门街道', '相国寺街道', '州桥街道', '新华街道', '卧龙街道', '五一街道', '仙人庄街道'],
  },
  {
    name: '龙亭区',
    lat: 34.812,
    lon: 114.335,
    streets: ['北书店街道', '大兴街道', '北道门街道', '午朝门街道', '城西街道', '北郊乡', '柳园口乡'],
  },
  {
    name: '顺河回族区',
    lat: 34.801,
    lon: 114.372,
    streets: ['清平街道', '铁塔街道', '曹门街道', '宋门街道', '工业街道', '苹果园街道', '东郊乡'],
  },
  {
    name: '禹王台区',
    lat: 34.772,
    lon: 114.362,
    streets: ['三里堡街道', '新门关街道', '菜市街道', '繁塔街道', '官坊街道', '南郊乡', '汪屯乡'],
  },
  {
    name: '祥符区',
    lat: 34.757,
    lon: 114.441,
    streets: ['城关镇', '陈留镇', '仇楼镇', '八里湾镇', '朱仙镇', '西姜寨乡'],
  },
  {
    name: '杞县',
    lat: 34.549,
    lon: 114.783,
    streets: ['城关镇', '五里河镇', '傅集镇', '圉镇镇', '高阳镇', '葛岗镇'],
  },
  {
    name: '通许县',
    lat: 34.48,
    lon: 114.467,
    streets: ['城关镇', '竖岗镇', '玉皇庙镇', '四所楼镇', '长智镇'],
  },
  {
    name: '尉氏县',
    lat: 34.412,
    lon: 114.193,
    streets: ['城关镇', '洧川镇', '朱曲镇', '蔡庄镇', '永兴镇', '张市镇'],
  },
  {
    name: '兰考县',
    lat: 34.822,
    lon: 114.821,
    streets: ['城关镇', '桐乡街道', '堌阳镇', '南彰镇', '东坝头镇', '谷营镇'],
  },
  { name: '示范区', lat: 34.79, lon: 114.25, streets: ['汴京路街道', '宋城路街道', '杏花营镇', '水稻乡'] },
];

/** Community name stems; urban streets get 社区, towns and townships get 村. */
export const COMMUNITY_STEMS: readonly string[] = [
  '包公湖',
  '龙亭',
  '铁塔',
  '繁塔',
  '清明',
  '汴西',
  '金明',
  '柳园',
  '前进',
  '幸福',
  '和平',
  '建设',
  '光明',
  '文化',
  '东风',
  '新华',
  '滨河',
  '花园',
  '阳光',
  '书店街',
  '鼓楼',
  '大梁',
  '五福',
  '汴京',
];

export function communitySuffix(street: string): string {
  return street.endsWith('街道') ? '社区' : '村';
}
