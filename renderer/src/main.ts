import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { createClient } from './api/client';
import App from './App.vue';
import { createAppI18n, persistLocale } from './i18n';
import { useConnectionStore } from './stores/connection';
import './styles.css';

const i18n = createAppI18n();
persistLocale(i18n.global.locale.value);
const pinia = createPinia();
const app = createApp(App).use(pinia).use(i18n);
useConnectionStore(pinia).connect(createClient());
app.mount('#app');
