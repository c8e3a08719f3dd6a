// SPDX-License-Identifier: Apache-2.0
// Colour theme: dark by default, light when chosen (saved in localStorage) or, with no saved
// choice, when the system prefers light. style.css holds the palettes; this file only flips
// html[data-theme] and tells listeners (the charts) to re-read the CSS variables.

const KEY = 'omega.theme';
const media = window.matchMedia('(prefers-color-scheme: light)');
const listeners = new Set();

/** 'light' or 'dark', as currently shown. */
export function currentTheme() {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return media.matches ? 'light' : 'dark';
}

/** Value of a CSS custom property on the root element, e.g. cssVar('--chart-grid'). */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Call fn() whenever the effective theme changes. */
export function onThemeChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function apply(button) {
  const theme = currentTheme();
  document.documentElement.dataset.theme = theme;
  const other = theme === 'dark' ? 'light' : 'dark';
  button.textContent = other === 'light' ? 'Light theme' : 'Dark theme';
  button.setAttribute('aria-label', `Switch to the ${other} colour theme`);
  for (const fn of listeners) fn(theme);
}

/** Wire the toggle button and follow system changes while no choice is saved. */
export function initTheme(button) {
  apply(button);
  button.addEventListener('click', () => {
    localStorage.setItem(KEY, currentTheme() === 'dark' ? 'light' : 'dark');
    apply(button);
  });
  media.addEventListener('change', () => apply(button));
}
