import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { hmi } from './lib/store.svelte';

const app = mount(App, { target: document.getElementById('app')! });
void hmi.start();

export default app;
