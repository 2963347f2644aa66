/**
 * The words of the HTML and PDF reports, in English, French and Simplified Chinese, and the Intl formatters for
 * numbers, byte sizes, durations and dates in each. CSV and JSON reports are locale-independent and use none of it.
 *
 * Every language has every key (the type makes it so); identifiers (eTaskCritical, HRESULT names, PAGE_*) are shown
 * as they are in every language, next to the translated words.
 */
import type { FailureGroup, FailureReason, Language } from '../vocabulary';

const en = {
  title: 'Allocation report',
  generatedAt: 'Generated',
  source: 'Source',
  sourceLive: 'live host',
  sourceSession: 'recorded session',
  command: 'Command',
  period: 'Period',
  duration: 'Duration',
  calls: 'Host calls',
  summary: 'Summary',
  atEnd: 'At the end',
  peak: 'Peak',
  reserved: 'Reserved',
  committed: 'Committed',
  external: 'External',
  heap: 'Heap',
  regions: 'Regions',
  failures: 'Failures',
  failuresTotal: 'Failures in all',
  failuresByReason: 'Failures by reason',
  chart: 'Reserved vs committed over time',
  chartNoSamples: 'No samples were recorded: there is no curve to draw.',
  commitLimit: 'Commit limit',
  failureMarkers: 'Failure markers, by critical level',
  clerks: 'Clerks (by tag)',
  tag: 'Tag',
  untagged: '(untagged)',
  noClerks: 'No live reservation.',
  failuresByLevel: 'Failures by critical level',
  levelTask: 'Task-critical',
  levelAppDomain: 'AppDomain-critical',
  levelProcess: 'Process-critical',
  levelOther: 'Calls without a level',
  count: 'Count',
  bytesRefused: 'Bytes refused',
  reasons: 'Reasons',
  reasonPolicy: 'policy limit',
  reasonOs: 'refused by the OS',
  reasonInjected: 'injected fault',
  reasonTimeout: 'timed out',
  reasonUnavailable: 'host unavailable',
  reasonInvalid: 'invalid argument',
  noFailures: 'No failures.',
  time: 'Time',
  method: 'Method',
  size: 'Size',
  result: 'Result',
  address: 'Address',
  reason: 'Reason',
  eventsCapped: 'Showing the first {shown} of {total} events of this level; the CSV and JSON reports have all of them.',
  allocations: 'Live allocations',
  base: 'Base address',
  protect: 'Protection',
  level: 'Level',
  created: 'Created',
  runs: 'Committed runs',
  mixed: 'mixed',
  none: 'none',
  rowsCapped: 'Showing the first {shown} of {total} allocations; the CSV report has all of them.',
  noAllocations: 'No live allocations.',
  policy: 'Policy',
  reserveLimit: 'Reserve limit',
  thresholds: 'Thresholds',
  processWait: 'Wait before a process-critical failure',
  faults: 'Injected faults',
  seed: 'Random seed',
  hostInfo: 'Host and system',
  computer: 'Computer',
  os: 'Operating system',
  backend: 'Back end',
  pageSize: 'Page size',
  granularity: 'Allocation granularity',
  hostState: 'Host state',
  stateAvailable: 'available',
  stateUnavailable: 'unavailable',
  memoryAvailable: 'Memory notification',
  memLow: 'Low',
  memNeutral: 'Neutral',
  memHigh: 'High',
  version: 'hostmem version',
  unknown: 'unknown',
  tornNote: 'The last line of the session was cut off (the recorder was killed); it was left out.',
  cappedNote: 'The recording stopped at its size cap: this report covers what was recorded before it.',
  footer: 'Made by hostmem {version}.',
  contents: 'Contents',
  labelValue: '{label}: {value}',
  omittedNote: 'Left out of this report when it was made: {sections}. The summary still counts everything.',
  damagedNote:
    'Warning: {count} damaged line(s) of the session were skipped (lines {lines}); this report covers the rest.',
  allocationsFrom: 'Live allocations',
  allocationsFromSnapshot: 'from the session’s end snapshot',
  allocationsFromCalls: 'rebuilt from the recorded calls (no usable end snapshot)',
  rebuiltNote:
    'The session has no usable end snapshot (the recording was stopped abruptly, or its end snapshot is damaged): the live allocations and the totals at the end were rebuilt from the recorded calls.',
  sectionAllocations: 'the live allocations',
  sectionFailures: 'the failure events',
  sectionSamples: 'the sample series',
  allocationsOmitted: 'The list of live allocations was left out of this report.',
  failuresOmitted: 'The failure events were left out of this report; the summary counts them by level and by reason.',
  samplesOmitted: 'The sample series was left out of this report: there is no chart.',
  markersOmitted: 'The failure events were left out of this report: the chart has no failure markers.',
  launch: 'Launched program',
  launchCommand: 'Command',
  launchExit: 'Exit',
  launchExitCode: 'code {code}',
  launchKilled: 'killed by {signal}',
  launchRunning: 'not recorded',
  launchProcesses: 'Traced processes',
  launchTopLive: 'Call sites holding the most live bytes at the end (likely leaks)',
  launchTopPeak: 'Call sites by their peak of live bytes',
  launchRefusals: 'Refusals and failures, with their call stacks',
  launchSite: 'Call site',
  launchLive: 'Live',
  launchPeak: 'Peak',
  launchBlocks: 'Blocks',
  launchAllocated: 'Allocated',
  launchCalls: 'Calls',
  launchLost: 'Events lost',
  launchSampled:
    'Heap call stacks are sampled (one per {bytes} allocated per thread): heap figures by call site are estimates; totals are exact.',
  launchNone: 'None.',
} as const;

export type MessageKey = keyof typeof en;
export type Messages = Readonly<Record<MessageKey, string>>;

const fr: Messages = {
  title: 'Rapport d’allocations',
  generatedAt: 'Généré le',
  source: 'Origine',
  sourceLive: 'hôte en cours d’exécution',
  sourceSession: 'session enregistrée',
  command: 'Commande',
  period: 'Période',
  duration: 'Durée',
  calls: 'Appels à l’hôte',
  summary: 'Synthèse',
  atEnd: 'À la fin',
  peak: 'Pic',
  reserved: 'Réservé',
  committed: 'Validé',
  external: 'Externe',
  heap: 'Tas',
  regions: 'Régions',
  failures: 'Échecs',
  failuresTotal: 'Échecs au total',
  failuresByReason: 'Échecs par cause',
  chart: 'Réservé et validé au fil du temps',
  chartNoSamples: 'Aucun échantillon n’a été enregistré : il n’y a pas de courbe à tracer.',
  commitLimit: 'Limite de validation',
  failureMarkers: 'Repères d’échec, par niveau critique',
  clerks: 'Consommateurs (par étiquette)',
  tag: 'Étiquette',
  untagged: '(sans étiquette)',
  noClerks: 'Aucune réservation vivante.',
  failuresByLevel: 'Échecs par niveau critique',
  levelTask: 'Critique pour la tâche',
  levelAppDomain: 'Critique pour l’AppDomain',
  levelProcess: 'Critique pour le processus',
  levelOther: 'Appels sans niveau',
  count: 'Nombre',
  bytesRefused: 'Octets refusés',
  reasons: 'Causes',
  reasonPolicy: 'limite de la stratégie',
  reasonOs: 'refus du système',
  reasonInjected: 'panne injectée',
  reasonTimeout: 'délai dépassé',
  reasonUnavailable: 'hôte indisponible',
  reasonInvalid: 'argument non valide',
  noFailures: 'Aucun échec.',
  time: 'Heure',
  method: 'Méthode',
  size: 'Taille',
  result: 'Résultat',
  address: 'Adresse',
  reason: 'Cause',
  eventsCapped:
    'Seuls les {shown} premiers des {total} événements de ce niveau sont affichés ; les rapports CSV et JSON les contiennent tous.',
  allocations: 'Allocations vivantes',
  base: 'Adresse de base',
  protect: 'Protection des pages',
  level: 'Niveau',
  created: 'Créée le',
  runs: 'Plages validées',
  mixed: 'mixte',
  none: 'aucune',
  rowsCapped:
    'Seules les {shown} premières des {total} allocations sont affichées ; le rapport CSV les contient toutes.',
  noAllocations: 'Aucune allocation vivante.',
  policy: 'Stratégie',
  reserveLimit: 'Limite de réservation',
  thresholds: 'Seuils',
  processWait: 'Attente avant un échec critique pour le processus',
  faults: 'Pannes injectées',
  seed: 'Graine aléatoire',
  hostInfo: 'Hôte et système',
  computer: 'Ordinateur',
  os: 'Système d’exploitation',
  backend: 'Implémentation',
  pageSize: 'Taille de page',
  granularity: 'Granularité d’allocation',
  hostState: 'État de l’hôte',
  stateAvailable: 'disponible',
  stateUnavailable: 'indisponible',
  memoryAvailable: 'Notification mémoire',
  memLow: 'Faible',
  memNeutral: 'Neutre',
  memHigh: 'Élevée',
  version: 'Version de hostmem',
  unknown: 'inconnu',
  tornNote: 'La dernière ligne de la session était tronquée (enregistreur interrompu) ; elle a été ignorée.',
  cappedNote: 'L’enregistrement s’est arrêté à sa taille maximale : ce rapport couvre ce qui a été enregistré avant.',
  footer: 'Produit par hostmem {version}.',
  contents: 'Sommaire',
  labelValue: '{label} : {value}',
  omittedNote: 'Laissés de côté à la création de ce rapport : {sections}. La synthèse compte néanmoins l’ensemble.',
  damagedNote:
    'Attention : {count} ligne(s) endommagée(s) de la session ont été ignorées (lignes {lines}) ; ce rapport couvre le reste.',
  allocationsFrom: 'Allocations vivantes',
  allocationsFromSnapshot: 'instantané de fin de session',
  allocationsFromCalls: 'reconstruites à partir des appels enregistrés (pas d’instantané de fin utilisable)',
  rebuiltNote:
    'La session n’a pas d’instantané de fin utilisable (enregistrement interrompu, ou instantané endommagé) : les allocations vivantes et les totaux de fin ont été reconstruits à partir des appels enregistrés.',
  sectionAllocations: 'les allocations vivantes',
  sectionFailures: 'les événements d’échec',
  sectionSamples: 'la série d’échantillons',
  allocationsOmitted: 'La liste des allocations vivantes a été laissée de côté dans ce rapport.',
  failuresOmitted:
    'Les événements d’échec ont été laissés de côté dans ce rapport ; la synthèse les compte par niveau et par cause.',
  samplesOmitted: 'La série d’échantillons a été laissée de côté dans ce rapport : il n’y a pas de graphique.',
  markersOmitted:
    'Les événements d’échec ont été laissés de côté dans ce rapport : le graphique n’a pas de repères d’échec.',
  launch: 'Programme lancé',
  launchCommand: 'Commande',
  launchExit: 'Fin',
  launchExitCode: 'code {code}',
  launchKilled: 'tué par {signal}',
  launchRunning: 'non enregistrée',
  launchProcesses: 'Processus tracés',
  launchTopLive: 'Sites d’appel qui retiennent le plus d’octets vivants à la fin (fuites probables)',
  launchTopPeak: 'Sites d’appel par leur pic d’octets vivants',
  launchRefusals: 'Refus et échecs, avec leur pile d’appels',
  launchSite: 'Site d’appel',
  launchLive: 'Vivants',
  launchPeak: 'Pic',
  launchBlocks: 'Blocs',
  launchAllocated: 'Alloués',
  launchCalls: 'Appels',
  launchLost: 'Événements perdus',
  launchSampled:
    'Les piles des appels au tas sont échantillonnées (une pour {bytes} alloués par fil) : les chiffres du tas par site d’appel sont des estimations ; les totaux sont exacts.',
  launchNone: 'Aucun.',
};

const zhCN: Messages = {
  title: '内存分配报告',
  generatedAt: '生成时间',
  source: '来源',
  sourceLive: '运行中的主机',
  sourceSession: '录制的会话',
  command: '命令',
  period: '时间段',
  duration: '时长',
  calls: '主机调用次数',
  summary: '摘要',
  atEnd: '结束时',
  peak: '峰值',
  reserved: '已保留',
  committed: '已提交',
  external: '外部',
  heap: '堆',
  regions: '区域数',
  failures: '失败',
  failuresTotal: '失败总数',
  failuresByReason: '按原因统计的失败',
  chart: '已保留与已提交随时间的变化',
  chartNoSamples: '没有记录任何采样，无法绘制曲线。',
  commitLimit: '提交上限',
  failureMarkers: '失败标记（按关键级别）',
  clerks: '按标签统计',
  tag: '标签',
  untagged: '（无标签）',
  noClerks: '没有存活的保留区域。',
  failuresByLevel: '按关键级别分组的失败',
  levelTask: '任务关键',
  levelAppDomain: '应用程序域关键',
  levelProcess: '进程关键',
  levelOther: '无级别的调用',
  count: '次数',
  bytesRefused: '被拒绝的字节数',
  reasons: '原因',
  reasonPolicy: '策略限制',
  reasonOs: '被操作系统拒绝',
  reasonInjected: '注入的故障',
  reasonTimeout: '超时',
  reasonUnavailable: '主机不可用',
  reasonInvalid: '无效参数',
  noFailures: '没有失败。',
  time: '时间',
  method: '方法',
  size: '大小',
  result: '结果',
  address: '地址',
  reason: '原因',
  eventsCapped: '仅显示该级别 {total} 个事件中的前 {shown} 个；CSV 和 JSON 报告包含全部事件。',
  allocations: '存活的分配',
  base: '基址',
  protect: '页面保护',
  level: '级别',
  created: '创建时间',
  runs: '已提交段数',
  mixed: '混合',
  none: '无',
  rowsCapped: '仅显示 {total} 个分配中的前 {shown} 个；CSV 报告包含全部分配。',
  noAllocations: '没有存活的分配。',
  policy: '策略',
  reserveLimit: '保留上限',
  thresholds: '阈值',
  processWait: '进程关键失败前的等待时间',
  faults: '注入的故障规则',
  seed: '随机种子',
  hostInfo: '主机与系统',
  computer: '计算机',
  os: '操作系统',
  backend: '后端',
  pageSize: '页大小',
  granularity: '分配粒度',
  hostState: '主机状态',
  stateAvailable: '可用',
  stateUnavailable: '不可用',
  memoryAvailable: '内存通知',
  memLow: '低',
  memNeutral: '中',
  memHigh: '高',
  version: 'hostmem 版本',
  unknown: '未知',
  tornNote: '会话的最后一行不完整（录制程序被终止），已忽略。',
  cappedNote: '录制在达到大小上限时停止：本报告只包含此前录制的内容。',
  footer: '由 hostmem {version} 生成。',
  contents: '目录',
  labelValue: '{label}：{value}',
  omittedNote: '生成本报告时省略了：{sections}。摘要仍统计全部内容。',
  damagedNote: '警告：会话中有 {count} 行已损坏并被跳过（第 {lines} 行）；本报告涵盖其余内容。',
  allocationsFrom: '存活的分配来源',
  allocationsFromSnapshot: '会话结束时的快照',
  allocationsFromCalls: '根据记录的调用重建（无可用的结束快照）',
  rebuiltNote:
    '会话没有可用的结束快照（录制被中断，或结束快照已损坏）：存活的分配和结束时的总量是根据记录的调用重建的。',
  sectionAllocations: '存活的分配',
  sectionFailures: '失败事件',
  sectionSamples: '采样序列',
  allocationsOmitted: '本报告省略了存活分配的列表。',
  failuresOmitted: '本报告省略了失败事件；摘要仍按级别和原因统计它们。',
  samplesOmitted: '本报告省略了采样序列：没有图表。',
  markersOmitted: '本报告省略了失败事件：图表中没有失败标记。',
  launch: '启动的程序',
  launchCommand: '命令',
  launchExit: '结束',
  launchExitCode: '退出码 {code}',
  launchKilled: '被 {signal} 终止',
  launchRunning: '未记录',
  launchProcesses: '被跟踪的进程',
  launchTopLive: '结束时持有最多存活字节的调用点（可能的泄漏）',
  launchTopPeak: '按存活字节峰值排列的调用点',
  launchRefusals: '拒绝和失败及其调用栈',
  launchSite: '调用点',
  launchLive: '存活',
  launchPeak: '峰值',
  launchBlocks: '块数',
  launchAllocated: '已分配',
  launchCalls: '调用次数',
  launchLost: '丢失的事件',
  launchSampled: '堆调用栈是采样得到的（每个线程每分配 {bytes} 取一个）：按调用点的堆数字是估计值；总量是精确的。',
  launchNone: '无。',
};

export const MESSAGES: Readonly<Record<Language, Messages>> = { en, fr, 'zh-CN': zhCN };

/** Byte units per language (French writes octets). */
const UNITS: Readonly<Record<Language, readonly string[]>> = {
  en: ['B', 'KiB', 'MiB', 'GiB', 'TiB'],
  fr: ['o', 'Kio', 'Mio', 'Gio', 'Tio'],
  'zh-CN': ['B', 'KiB', 'MiB', 'GiB', 'TiB'],
};

export const LEVEL_KEYS: Readonly<Record<FailureGroup, MessageKey>> = {
  eTaskCritical: 'levelTask',
  eAppDomainCritical: 'levelAppDomain',
  eProcessCritical: 'levelProcess',
  other: 'levelOther',
};

export const REASON_KEYS: Readonly<Record<FailureReason, MessageKey>> = {
  policy: 'reasonPolicy',
  os: 'reasonOs',
  injected: 'reasonInjected',
  timeout: 'reasonTimeout',
  unavailable: 'reasonUnavailable',
  invalid: 'reasonInvalid',
};

/** Text and formatters of one language. */
export interface Localizer {
  readonly lang: Language;
  /** A message, with `{name}` placeholders filled in. */
  t(key: MessageKey, values?: Readonly<Record<string, string | number>>): string;
  /** An integer or decimal number with the language's separators. */
  number(n: number): string;
  /** A byte count with a binary unit, e.g. "64.0 MiB" / "64,0 Mio". */
  bytes(n: number): string;
  /** A duration in ms, e.g. "20.3 s" / "20,3 s" / "20.3秒". */
  duration(ms: number): string;
  /** Date and time (ms since the epoch), in this machine's time zone. */
  dateTime(ms: number): string;
  /** Time of day with seconds (and tenths with `precise`). */
  time(ms: number, precise?: boolean): string;
  /** A ratio (0.9) as a percentage. */
  percent(ratio: number): string;
  /** A reason identifier in words (unknown ones as they are). */
  reason(reason: string): string;
  /** Items joined as the language lists them ("a, b and c" / "a, b et c" / "a、b和c"). */
  list(items: readonly string[]): string;
}

export function localizer(lang: Language): Localizer {
  const messages = MESSAGES[lang];
  const integer = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  const oneDecimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const seconds = new Intl.NumberFormat(lang, { style: 'unit', unit: 'second', maximumFractionDigits: 1 });
  const millis = new Intl.NumberFormat(lang, { style: 'unit', unit: 'millisecond', maximumFractionDigits: 0 });
  const minutes = new Intl.NumberFormat(lang, { style: 'unit', unit: 'minute', maximumFractionDigits: 1 });
  const hours = new Intl.NumberFormat(lang, { style: 'unit', unit: 'hour', maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 });
  const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'long' });
  const time = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const timePrecise = new Intl.DateTimeFormat(lang, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 1,
  });
  const list = new Intl.ListFormat(lang, { style: 'long', type: 'conjunction' });
  const units = UNITS[lang];
  // Intl puts a narrow no-break space before the unit in French; the same between number and byte unit.
  const space = lang === 'zh-CN' ? ' ' : '\u00a0';
  return {
    lang,
    t(key, values) {
      const text = messages[key];
      if (!values) return text;
      return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
        Object.hasOwn(values, name) ? String(values[name]) : whole,
      );
    },
    number: (n) => (Number.isInteger(n) ? integer.format(n) : oneDecimal.format(n)),
    bytes(n) {
      let v = n;
      let u = 0;
      while (Math.abs(v) >= 1024 && u < units.length - 1) {
        v /= 1024;
        u++;
      }
      return `${u === 0 ? integer.format(v) : oneDecimal.format(v)}${space}${units[u]}`;
    },
    duration(ms) {
      if (ms < 1000) return millis.format(ms);
      if (ms < 120_000) return seconds.format(ms / 1000);
      if (ms < 2 * 3_600_000) return minutes.format(ms / 60_000);
      return hours.format(ms / 3_600_000);
    },
    dateTime: (ms) => dateTime.format(ms),
    time: (ms, precise) => (precise ? timePrecise : time).format(ms),
    percent: (ratio) => percent.format(ratio),
    reason: (reason) => (Object.hasOwn(REASON_KEYS, reason) ? messages[REASON_KEYS[reason as FailureReason]] : reason),
    list: (items) => list.format(items),
  };
}
