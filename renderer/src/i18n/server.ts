/**
 * What main says, in the page's language: its coded messages (main/contract/messages.ts, one entry per code, checked
 * by the type) and the built-in scenarios' descriptions and parameter help (keyed by scenario and parameter name;
 * English is the server's own text, so only French and Chinese are here — a name missing falls back to it).
 */
import type { MessageCode } from '../api/contract';

export type ServerMessages = Readonly<Record<MessageCode, string>>;

export const serverEn: ServerMessages = {
  'process-not-running': 'Process {pid} is not running ({detail})',
  'process-access-denied': 'Access to process {pid} is denied ({detail})',
  'process-unreadable': 'Process {pid} cannot be read ({detail})',
  'process-watch-limit': 'At most {max} processes are watched at once (now: {watching}): stop watching one first',
  'service-closing': 'The service is shutting down',
};

export const serverFr: ServerMessages = {
  'process-not-running': 'Le processus {pid} n’est pas en cours d’exécution ({detail})',
  'process-access-denied': 'L’accès au processus {pid} est refusé ({detail})',
  'process-unreadable': 'Le processus {pid} ne peut pas être lu ({detail})',
  'process-watch-limit':
    'Au plus {max} processus sont surveillés à la fois (en ce moment : {watching}) : arrêtez d’en surveiller un d’abord',
  'service-closing': 'Le service s’arrête',
};

export const serverZhCN: ServerMessages = {
  'process-not-running': '进程 {pid} 未在运行（{detail}）',
  'process-access-denied': '拒绝访问进程 {pid}（{detail}）',
  'process-unreadable': '无法读取进程 {pid}（{detail}）',
  'process-watch-limit': '最多同时监视 {max} 个进程（当前：{watching}）：请先停止监视其中一个',
  'service-closing': '服务正在关闭',
};

/** A scenario's words in one language: its description and its parameters' help. */
export interface ScenarioWords {
  readonly description: string;
  readonly params: Readonly<Record<string, string>>;
}
export interface ScenarioCatalogue {
  /** Parameters every scenario has (seed, duration, rate, call cap). */
  readonly common: Readonly<Record<string, string>>;
  readonly scenarios: Readonly<Record<string, ScenarioWords>>;
}

export const scenariosFr: ScenarioCatalogue = {
  common: {
    seed: 'graine du PRNG (0 … 2^32-1) : la même graine donne la même suite de requêtes',
    durationMs: 'durée, en ms ou « 30s » ; 0 tourne jusqu’à l’arrêt',
    rate: 'appels à l’hôte visés par seconde ; 0 va aussi vite que l’hôte répond',
    maxCalls:
      'arrêter après ce nombre d’appels (0 : sans limite) ; avec une limite, deux exécutions d’une graine font les mêmes appels',
    levels: 'poids des niveaux critiques des allocations',
  },
  scenarios: {
    steady: {
      description: 'Une petite population de réservations engagées, écrites, désengagées et libérées à un rythme lent.',
      params: {
        regions: 'réservations gardées en vie',
        reserveMin: 'plus petite réservation',
        reserveMax: 'plus grande réservation',
        chunkPages: 'nombre maximal de pages engagées ou désengagées à la fois',
        maxCommitted: 'le plus que cette charge garde engagé',
        headroom: 'ne jamais engager au-delà de cette fraction de la limite d’engagement de l’hôte (s’il y en a une)',
        heapBlocks: 'nombre maximal de blocs vivants dans le tas de l’hôte (0 : pas de tas)',
      },
    },
    'gc-heap': {
      description:
        'Segments de GC réservés, engagés par morceaux au fil des allocations, désengagés après les collectes.',
      params: {
        segmentSize: 'taille d’un segment gen0 ou gen2 (réservé entier, engagé par morceaux)',
        allocationChunk: 'octets engagés par pas d’allocation',
        gen0Budget: 'octets alloués en gen0 entre deux collectes',
        survival: 'fraction de gen0 qui survit à une collecte et passe en gen2',
        fullEvery: 'une collecte sur N est complète (compactage de gen2)',
        maxGen2Segments: 'segments gen2 gardés avant qu’une collecte complète en libère',
        lohChance: 'probabilité qu’un pas d’allocation alloue aussi un grand objet',
        lohMin: 'plus petit grand objet',
        lohMax: 'plus grand grand objet',
        levels: 'poids des niveaux critiques des engagements',
      },
    },
    leak: {
      description: 'Alloue régulièrement et en oublie une part : l’engagé augmente ; la fuite reste après l’arrêt.',
      params: {
        sizeMin: 'plus petite allocation',
        sizeMax: 'plus grande allocation',
        leakFraction: 'fraction des allocations jamais libérées',
        temporaries: 'temporaires vivants à la fois (les plus anciens libérés d’abord)',
        heapFraction: 'fraction des allocations faites dans le tas de l’hôte (DebugAlloc)',
        maxLeak: 'une fois cette quantité perdue, seuls des temporaires sont alloués',
        releaseOnStop: 'libérer aussi la mémoire perdue à la fin de la charge',
      },
    },
    fragmentation: {
      description:
        'Beaucoup de petites réservations libérées dans le désordre, des arènes clairsemées et des changements de protection : des trous partout.',
      params: {
        maxRegions: 'nombre maximal de petites réservations vivantes à la fois',
        smallMin: 'plus petite petite réservation',
        smallMax: 'plus grande petite réservation',
        arenas: 'grandes réservations engagées de façon clairsemée',
        arenaSize: 'taille d’une arène',
        protectFraction: 'fraction des pas qui changent une protection',
        topDownFraction: 'fraction des petites réservations faites avec MEM_TOP_DOWN',
      },
    },
    pressure: {
      description: 'Pousse l’engagé jusqu’à la limite d’engagement : échecs eTask, puis eAppDomain, puis eProcess.',
      params: {
        commitLimit:
          'utilisée seulement quand l’hôte n’a pas de limite d’engagement : fixée pour l’exécution, la politique précédente rétablie à la fin ; null : ne jamais toucher à la politique',
        chunkMin: 'plus petite demande d’engagement',
        chunkMax: 'plus grande demande d’engagement (bornée sous l’écart entre deux seuils)',
        levels: 'demandes par tour à chaque niveau (un tour demande eTask, puis eAppDomain, puis eProcess)',
        fillFraction: 'fraction des morceaux accordés écrits (Fill) et vérifiés',
        onUnavailable:
          'quand l’hôte devient indisponible : finir ; attendre une réinitialisation ; ou le réinitialiser après resetDelayMs',
        resetDelayMs: 'avec onUnavailable « reset » : combien de temps l’hôte reste indisponible',
        releaseFraction: 'après une réinitialisation : fraction de ses réservations libérées avant de remonter',
      },
    },
    burst: {
      description: 'Au repos, puis une courte rafale d’allocations à haut débit ; encore et encore.',
      params: {
        idleMs: 'temps calme avant chaque rafale, en ms ou « 2s »',
        burstCalls: 'appels à l’hôte par rafale (faits au rythme `rate`)',
        sizeMin: 'plus petit bloc',
        sizeMax: 'plus grand bloc',
        live: 'nombre maximal de blocs vivants à la fois pendant une rafale',
        keepFraction: 'fraction des blocs d’une rafale gardés jusqu’à la fin de la rafale suivante',
      },
    },
  },
};

export const scenariosZhCN: ScenarioCatalogue = {
  common: {
    seed: '伪随机数种子（0 … 2^32-1）：相同的种子产生相同的请求序列',
    durationMs: '运行时长，毫秒或 “30s”；0 表示一直运行到停止',
    rate: '每秒目标主机调用数；0 表示按主机应答的最快速度运行',
    maxCalls: '达到此调用数后停止（0：不限）；有上限时，同一种子的两次运行发出相同的调用',
    levels: '分配的关键级别权重',
  },
  scenarios: {
    steady: {
      description: '少量保留区以低速率被提交、写入、取消提交和释放。',
      params: {
        regions: '保持存活的保留区数',
        reserveMin: '最小保留区',
        reserveMax: '最大保留区',
        chunkPages: '一次提交或取消提交的最多页数',
        maxCommitted: '此工作负载最多保持提交的量',
        headroom: '提交量不超过主机提交上限的这一比例（如有上限）',
        heapBlocks: '主机堆中最多存活的块数（0：不用堆）',
      },
    },
    'gc-heap': {
      description: 'GC 段整体保留，随分配分块提交，回收后取消提交。',
      params: {
        segmentSize: 'gen0 或 gen2 段的大小（整体保留，分块提交）',
        allocationChunk: '每个分配步骤提交的字节数',
        gen0Budget: '两次回收之间在 gen0 中分配的字节数',
        survival: '回收后存活并进入 gen2 的 gen0 比例',
        fullEvery: '每第 N 次回收为完全回收（gen2 压缩）',
        maxGen2Segments: '完全回收释放前保留的 gen2 段数',
        lohChance: '一个分配步骤同时分配大对象的概率',
        lohMin: '最小大对象',
        lohMax: '最大大对象',
        levels: '提交的关键级别权重',
      },
    },
    leak: {
      description: '持续分配并遗忘其中一部分：已提交字节增长；停止后泄漏仍在。',
      params: {
        sizeMin: '最小分配',
        sizeMax: '最大分配',
        leakFraction: '永不释放的分配比例',
        temporaries: '同时存活的临时分配（最早的先释放）',
        heapFraction: '在主机堆中进行的分配比例（DebugAlloc）',
        maxLeak: '泄漏达到此量后只分配临时块',
        releaseOnStop: '工作负载结束时也释放泄漏的内存',
      },
    },
    fragmentation: {
      description: '大量小保留区乱序释放、稀疏的区域和保护更改：到处是空洞。',
      params: {
        maxRegions: '同时存活的小保留区最多数量',
        smallMin: '最小的小保留区',
        smallMax: '最大的小保留区',
        arenas: '稀疏提交的较大保留区',
        arenaSize: '区域（arena）大小',
        protectFraction: '更改保护的步骤比例',
        topDownFraction: '以 MEM_TOP_DOWN 进行的小保留区比例',
      },
    },
    pressure: {
      description: '将已提交字节推向提交上限：依次出现 eTask、eAppDomain、eProcess 失败。',
      params: {
        commitLimit: '仅当主机没有提交上限时使用：运行期间设置，结束时恢复之前的策略；null：从不改动策略',
        chunkMin: '最小提交请求',
        chunkMax: '最大提交请求（限制在两个阈值之间的差距以下）',
        levels: '每轮各级别的请求数（一轮依次请求 eTask、eAppDomain、eProcess）',
        fillFraction: '写入（Fill）并检查的已批准块比例',
        onUnavailable: '主机变为不可用时：结束；等待重置；或在 resetDelayMs 后重置',
        resetDelayMs: 'onUnavailable 为 “reset” 时：主机保持不可用的时长',
        releaseFraction: '重置后：再次增长前释放的保留区比例',
      },
    },
    burst: {
      description: '空闲，然后以高速率短暂突发分配；周而复始。',
      params: {
        idleMs: '每次突发前的安静时间，毫秒或 “2s”',
        burstCalls: '每次突发的主机调用数（按 `rate` 发出）',
        sizeMin: '最小块',
        sizeMax: '最大块',
        live: '突发期间同时存活的最多块数',
        keepFraction: '保留到下一次突发结束的块比例',
      },
    },
  },
};

/** Scenario words by language (English: none, the server's own). */
export const SCENARIO_WORDS: Readonly<Partial<Record<string, ScenarioCatalogue>>> = {
  fr: scenariosFr,
  'zh-CN': scenariosZhCN,
};
