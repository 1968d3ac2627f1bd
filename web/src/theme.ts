/**
 * Light and dark themes. The choice (light, dark or system) is kept in localStorage; "system"
 * follows `prefers-color-scheme` live. The resolved theme is set as `data-theme` on <html>, which
 * the CSS variables key on, and announced with a `rexec-theme` event (xterm.js listens).
 */
export type ThemePref = 'light' | 'dark' | 'system';
export type Theme = 'light' | 'dark';

const KEY = 'rexec.theme';
const EVENT = 'rexec-theme';
const mq = window.matchMedia('(prefers-color-scheme: dark)');

export function themePref(): ThemePref {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

export function resolvedTheme(): Theme {
  const p = themePref();
  if (p !== 'system') return p;
  return mq.matches ? 'dark' : 'light';
}

function apply(): void {
  const t = resolvedTheme();
  if (document.documentElement.dataset.theme !== t) document.documentElement.dataset.theme = t;
  window.dispatchEvent(new CustomEvent(EVENT, { detail: t }));
}

export function setThemePref(p: ThemePref): void {
  if (p === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, p);
  apply();
}

/** Light -> dark -> system -> light. */
export function nextThemePref(p: ThemePref): ThemePref {
  return p === 'light' ? 'dark' : p === 'dark' ? 'system' : 'light';
}

export function onThemeChange(fn: (t: Theme) => void): () => void {
  const l = () => fn(resolvedTheme());
  window.addEventListener(EVENT, l);
  return () => window.removeEventListener(EVENT, l);
}

export function initTheme(): void {
  mq.addEventListener('change', () => {
    if (themePref() === 'system') apply();
  });
  // Another tab changed the preference.
  window.addEventListener('storage', (e) => {
    if (e.key === KEY) apply();
  });
  apply();
}
