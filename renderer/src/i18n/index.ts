/** vue-i18n set-up: English, French, Simplified Chinese; the choice persists in localStorage. */
import { createI18n } from 'vue-i18n';
import { isLanguage, type Language, type SettingsLanguage } from '../api/contract';
import en, { type Messages } from './en';
import fr from './fr';
import zhCN from './zh-CN';

/** The UI's locales are hostmem's languages (main/vocabulary). */
export type Locale = Language;
/** Each language in its own words (a language without its name fails the type check). */
export const LOCALE_NAMES: Readonly<Record<Language, string>> = { en: 'English', fr: 'Français', 'zh-CN': '简体中文' };
export const STORAGE_KEY = 'hostmem.locale';

/** Every language has a catalogue, and every catalogue every key of the English one (its type). */
export const catalogues: Readonly<Record<Language, Messages>> = { en, fr, 'zh-CN': zhCN };

function storage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

/** The browser's language (in the app: the OS's) when we have it, else English. */
export function systemLocale(): Locale {
  const nav = typeof navigator === 'undefined' ? [] : navigator.languages;
  for (const lang of nav) {
    if (lang.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (lang.toLowerCase().startsWith('fr')) return 'fr';
    if (lang.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

/** The stored choice, else the browser's language. */
export function initialLocale(): Locale {
  const stored = storage()?.getItem(STORAGE_KEY);
  if (isLanguage(stored)) return stored;
  return systemLocale();
}

/** The locale of the app's language setting ('system': the browser's). */
export function localeOfSetting(language: SettingsLanguage): Locale {
  return language === 'system' ? systemLocale() : language;
}

export function createAppI18n(locale: Locale = initialLocale()) {
  return createI18n<[Messages], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages: catalogues,
  });
}

export type AppI18n = ReturnType<typeof createAppI18n>;

export function persistLocale(locale: Locale): void {
  storage()?.setItem(STORAGE_KEY, locale);
  if (typeof document !== 'undefined') document.documentElement.lang = locale;
}
