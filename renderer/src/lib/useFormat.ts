/** The formatters bound to the current locale, for templates. */
import { useI18n } from 'vue-i18n';
import * as f from './format';

export function useFormat() {
  const { locale } = useI18n();
  return {
    bytes: (n: number) => f.formatBytes(n, locale.value),
    bytesDelta: (n: number) => f.formatBytesDelta(n, locale.value),
    number: (n: number, digits = 0) => f.formatNumber(n, locale.value, digits),
    percent: (n: number) => f.formatPercent(n, locale.value),
    time: (ms: number) => f.formatTime(ms, locale.value),
    dateTime: (ms: number) => f.formatDateTime(ms, locale.value),
    age: (ms: number) => f.formatAge(ms, locale.value),
    hex: f.hex,
  };
}
