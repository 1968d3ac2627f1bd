/** xterm.js colours for the light and dark themes (terminals and the output viewer's terminal mode). */
import type { ITheme } from '@xterm/xterm';
import type { Theme } from './theme.js';

export const TERMINAL_FONT = 'ui-monospace, "SF Mono", "Cascadia Mono", "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace';

export const DARK: ITheme = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#e6edf3',
  cursorAccent: '#0d1117',
  selectionBackground: '#264f78',
  scrollbarSliderBackground: 'rgba(110, 118, 129, 0.25)',
  scrollbarSliderHoverBackground: 'rgba(110, 118, 129, 0.45)',
  scrollbarSliderActiveBackground: 'rgba(110, 118, 129, 0.6)',
  black: '#484f58',
  red: '#ff7b72',
  green: '#3fb950',
  yellow: '#d29922',
  blue: '#58a6ff',
  magenta: '#bc8cff',
  cyan: '#39c5cf',
  white: '#b1bac4',
  brightBlack: '#6e7681',
  brightRed: '#ffa198',
  brightGreen: '#56d364',
  brightYellow: '#e3b341',
  brightBlue: '#79c0ff',
  brightMagenta: '#d2a8ff',
  brightCyan: '#56d4dd',
  brightWhite: '#f0f6fc',
};

export const LIGHT: ITheme = {
  background: '#ffffff',
  foreground: '#1f2328',
  cursor: '#1f2328',
  cursorAccent: '#ffffff',
  selectionBackground: '#b6d7ff',
  scrollbarSliderBackground: 'rgba(31, 35, 40, 0.15)',
  scrollbarSliderHoverBackground: 'rgba(31, 35, 40, 0.3)',
  scrollbarSliderActiveBackground: 'rgba(31, 35, 40, 0.4)',
  black: '#24292f',
  red: '#cf222e',
  green: '#116329',
  yellow: '#7d4e00',
  blue: '#0969da',
  magenta: '#8250df',
  cyan: '#1b7c83',
  white: '#6e7781',
  brightBlack: '#57606a',
  brightRed: '#a40e26',
  brightGreen: '#1a7f37',
  brightYellow: '#633c01',
  brightBlue: '#218bff',
  brightMagenta: '#a475f9',
  brightCyan: '#3192aa',
  brightWhite: '#8c959f',
};

export function xtermTheme(t: Theme): ITheme {
  return t === 'dark' ? DARK : LIGHT;
}
