/**
 * The words of the desktop app outside the page and the tray (those are in renderer/src/i18n and ./tray-model): the
 * application menu, the dialogs (About, Export, replace, errors), the hint shown when the window first hides to the
 * tray, and the titles of the app's own notifications — in every UI language. No Electron here (shell-text.test.ts).
 */
import type { Language } from '../vocabulary';

export interface ShellText {
  readonly menu: {
    readonly file: string;
    readonly exportReport: string;
    readonly closeWindow: string;
    readonly quit: string;
    readonly view: string;
    readonly reload: string;
    readonly devTools: string;
    readonly actualSize: string;
    readonly zoomIn: string;
    readonly zoomOut: string;
    readonly fullScreen: string;
    readonly help: string;
    readonly openLogs: string;
    readonly openSettings: string;
    readonly about: string;
  };
  readonly about: {
    readonly title: string;
    readonly message: string;
    readonly version: string;
    readonly backend: string;
    readonly page: string;
    readonly granularity: string;
    readonly appId: string;
    readonly settings: string;
    readonly logs: string;
    readonly ok: string;
    readonly copyDetails: string;
  };
  readonly export: {
    readonly title: string;
    readonly html: string;
    readonly csv: string;
    readonly json: string;
    readonly pdf: string;
    readonly replaceTitle: string;
    readonly replaceOne: string;
    readonly replaceMany: string;
    readonly replace: string;
    readonly cancel: string;
  };
  /** The notification after a tray export (its body lists the files). */
  readonly reportSaved: string;
  /** The notification's title when the settings file was repaired at start. */
  readonly settingsTitle: string;
  /** The first time the window hides to the tray. */
  readonly hint: { readonly title: string; readonly body: string };
  /** An error dialog's text: `couldNotOpen(folder, why)`. */
  readonly couldNotOpen: (folder: string, why: string) => string;
  /** Start at login could not be changed (the tray's tick goes back). */
  readonly startAtLoginFailed: (why: string) => string;
}

const TEXT: Readonly<Record<Language, ShellText>> = {
  en: {
    menu: {
      file: '&File',
      exportReport: 'Export report…',
      closeWindow: 'Close window',
      quit: 'Quit hostmem',
      view: '&View',
      reload: 'Reload',
      devTools: 'Toggle developer tools',
      actualSize: 'Actual size',
      zoomIn: 'Zoom in',
      zoomOut: 'Zoom out',
      fullScreen: 'Toggle full screen',
      help: '&Help',
      openLogs: 'Open logs folder',
      openSettings: 'Open settings folder',
      about: 'About hostmem',
    },
    about: {
      title: 'About hostmem',
      message: 'hostmem — a host memory manager (IHostMemoryManager) over the real OS',
      version: 'Version',
      backend: 'Backend',
      page: 'page',
      granularity: 'granularity',
      appId: 'App ID',
      settings: 'Settings',
      logs: 'Logs',
      ok: 'OK',
      copyDetails: 'Copy details',
    },
    export: {
      title: 'Export report',
      html: 'HTML report',
      csv: 'CSV (allocations, failures, samples)',
      json: 'JSON (hostmem.report/1)',
      pdf: 'PDF',
      replaceTitle: 'Replace files?',
      replaceOne: 'This file already exists; replace it?',
      replaceMany: 'These files already exist; replace them?',
      replace: 'Replace',
      cancel: 'Cancel',
    },
    reportSaved: 'Report saved',
    settingsTitle: 'hostmem settings',
    hint: { title: 'hostmem is still running', body: 'It keeps monitoring from the tray. Quit from the tray menu.' },
    couldNotOpen: (folder, why) => `Could not open ${folder}: ${why}`,
    startAtLoginFailed: (why) => `Start at login could not be changed: ${why}`,
  },
  fr: {
    menu: {
      file: '&Fichier',
      exportReport: 'Exporter un rapport…',
      closeWindow: 'Fermer la fenêtre',
      quit: 'Quitter hostmem',
      view: '&Affichage',
      reload: 'Recharger',
      devTools: 'Outils de développement',
      actualSize: 'Taille réelle',
      zoomIn: 'Zoom avant',
      zoomOut: 'Zoom arrière',
      fullScreen: 'Plein écran',
      help: '&Aide',
      openLogs: 'Ouvrir le dossier des journaux',
      openSettings: 'Ouvrir le dossier des paramètres',
      about: 'À propos de hostmem',
    },
    about: {
      title: 'À propos de hostmem',
      message: 'hostmem — un gestionnaire de mémoire hôte (IHostMemoryManager) sur le vrai système',
      version: 'Version',
      backend: 'Backend',
      page: 'page',
      granularity: 'granularité',
      appId: 'ID d’application',
      settings: 'Paramètres',
      logs: 'Journaux',
      ok: 'OK',
      copyDetails: 'Copier les détails',
    },
    export: {
      title: 'Exporter le rapport',
      html: 'Rapport HTML',
      csv: 'CSV (allocations, échecs, échantillons)',
      json: 'JSON (hostmem.report/1)',
      pdf: 'PDF',
      replaceTitle: 'Remplacer les fichiers ?',
      replaceOne: 'Ce fichier existe déjà ; le remplacer ?',
      replaceMany: 'Ces fichiers existent déjà ; les remplacer ?',
      replace: 'Remplacer',
      cancel: 'Annuler',
    },
    reportSaved: 'Rapport enregistré',
    settingsTitle: 'Paramètres de hostmem',
    hint: {
      title: 'hostmem tourne toujours',
      body: 'La surveillance continue depuis la zone de notification. Quittez depuis son menu.',
    },
    couldNotOpen: (folder, why) => `Impossible d’ouvrir ${folder} : ${why}`,
    startAtLoginFailed: (why) => `Le démarrage à l’ouverture de session n’a pas pu être modifié : ${why}`,
  },
  'zh-CN': {
    menu: {
      file: '文件(&F)',
      exportReport: '导出报告…',
      closeWindow: '关闭窗口',
      quit: '退出 hostmem',
      view: '视图(&V)',
      reload: '重新加载',
      devTools: '开发者工具',
      actualSize: '实际大小',
      zoomIn: '放大',
      zoomOut: '缩小',
      fullScreen: '全屏',
      help: '帮助(&H)',
      openLogs: '打开日志文件夹',
      openSettings: '打开设置文件夹',
      about: '关于 hostmem',
    },
    about: {
      title: '关于 hostmem',
      message: 'hostmem — 基于真实操作系统的宿主内存管理器（IHostMemoryManager）',
      version: '版本',
      backend: '后端',
      page: '页',
      granularity: '粒度',
      appId: '应用 ID',
      settings: '设置',
      logs: '日志',
      ok: '确定',
      copyDetails: '复制详细信息',
    },
    export: {
      title: '导出报告',
      html: 'HTML 报告',
      csv: 'CSV（分配、失败、采样）',
      json: 'JSON（hostmem.report/1）',
      pdf: 'PDF',
      replaceTitle: '替换文件？',
      replaceOne: '此文件已存在，是否替换？',
      replaceMany: '这些文件已存在，是否替换？',
      replace: '替换',
      cancel: '取消',
    },
    reportSaved: '报告已保存',
    settingsTitle: 'hostmem 设置',
    hint: { title: 'hostmem 仍在运行', body: '它在系统托盘中继续监控。请从托盘菜单退出。' },
    couldNotOpen: (folder, why) => `无法打开 ${folder}：${why}`,
    startAtLoginFailed: (why) => `无法更改登录时启动：${why}`,
  },
};

/** The app's words in `language`. */
export function shellText(language: Language): ShellText {
  return TEXT[language];
}
