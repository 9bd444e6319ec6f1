// The language of what the CLI tells a city: Simplified Chinese by default, English with `--lang en`. Rule
// codes, pointers, ids and file names stay as they are in either language, so scripts can match on them.

export type CliLanguage = 'zh' | 'en';

/** The language `--lang` names (zh, zh-CN, en, en-GB ...); undefined when it names neither. */
export const parseLanguage = (raw: string | undefined): CliLanguage | undefined => {
  if (raw === undefined) return 'zh';
  const tag = raw.trim().toLowerCase();
  if (tag === 'zh' || tag.startsWith('zh-') || tag.startsWith('zh_')) return 'zh';
  if (tag === 'en' || tag.startsWith('en-') || tag.startsWith('en_')) return 'en';
  return undefined;
};

/** What to send as Accept-Language, so ingest answers problems in the same language. */
export const acceptLanguage = (language: CliLanguage): string =>
  language === 'en' ? 'en' : 'zh-CN, zh;q=0.9';

/** Whole numbers with thousands separators, the same in both languages (1,234). */
export const formatCount = (value: number): string => new Intl.NumberFormat('en').format(value);

/** A duration for people: 42 s, 3 min 5 s, 2 h 10 min (秒, 分, 小时 in Chinese). */
export const formatDuration = (milliseconds: number, language: CliLanguage): string => {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  const [s, min, h] = language === 'en' ? [' s', ' min', ' h'] : [' 秒', ' 分', ' 小时'];
  if (seconds < 60) return `${seconds}${s}`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}${min} ${seconds % 60}${s}`;
  return `${Math.floor(seconds / 3600)}${h} ${Math.floor((seconds % 3600) / 60)}${min}`;
};

/** The value a problem found, after its message: ` (got 600)`, or `（实际为 600）`; nothing when it has none. */
export const problemValue = (value: unknown, language: CliLanguage): string =>
  value === undefined
    ? ''
    : language === 'en'
      ? ` (got ${JSON.stringify(value)})`
      : `（实际为 ${JSON.stringify(value)}）`;
