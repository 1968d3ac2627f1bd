import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanOutput, stripAnsi } from '../src/index.js';

const ESC = '\x1b';

// ---- stripAnsi -----------------------------------------------------------------------------------

test('stripAnsi removes CSI sequences, private modes and 8-bit CSI', () => {
  assert.equal(stripAnsi(`${ESC}[31mred${ESC}[0m`), 'red');
  assert.equal(stripAnsi(`${ESC}[1;38;5;208mbold${ESC}[m`), 'bold');
  assert.equal(stripAnsi(`${ESC}[38;2;255;0;0mrgb${ESC}[39m`), 'rgb');
  assert.equal(stripAnsi(`${ESC}[?25l${ESC}[?1049hscreen${ESC}[?1049l${ESC}[?25h`), 'screen');
  assert.equal(stripAnsi(`a${ESC}[2Jb${ESC}[Hc${ESC}[10;20Hd${ESC}[Ke`), 'abcde');
  assert.equal(stripAnsi(`${ESC}[>0c${ESC}[=1c${ESC}[ q`), ''); // private markers, intermediate byte
  assert.equal(stripAnsi('\x9b31mred\x9b0m'), 'red');
});

test('stripAnsi removes OSC (titles, hyperlinks) ended by BEL or ST', () => {
  assert.equal(stripAnsi(`${ESC}]0;window title\x07text`), 'text');
  assert.equal(stripAnsi(`${ESC}]2;title${ESC}\\text`), 'text');
  assert.equal(stripAnsi(`${ESC}]8;;https://example.com/a?b=c\x07link${ESC}]8;;\x07 after`), 'link after');
  assert.equal(stripAnsi(`${ESC}]8;id=1;https://x${ESC}\\link${ESC}]8;;${ESC}\\`), 'link');
  assert.equal(stripAnsi(`\x9d0;title\x9ctext`), 'text');
  assert.equal(stripAnsi(`${ESC}]52;c;aGVsbG8=\x07x`), 'x');
});

test('stripAnsi removes DCS, SOS, PM and APC strings', () => {
  assert.equal(stripAnsi(`${ESC}Pq#0;2;0;0;0#0~~@@vv@@~~${ESC}\\after`), 'after');
  assert.equal(stripAnsi(`a${ESC}Xsos${ESC}\\b${ESC}^pm${ESC}\\c${ESC}_apc${ESC}\\d`), 'abcd');
  assert.equal(stripAnsi(`a${ESC}_Gf=100;AAAA\x07b`), 'ab'); // kitty graphics (APC ended by BEL)
  assert.equal(stripAnsi(`a\x90dcs\x9cb`), 'ab');
});

test('stripAnsi removes two-byte and charset ESC sequences', () => {
  assert.equal(stripAnsi(`${ESC}(Btext${ESC})0`), 'text');
  assert.equal(stripAnsi(`${ESC}7saved${ESC}8`), 'saved');
  assert.equal(stripAnsi(`${ESC}=keypad${ESC}>`), 'keypad');
  assert.equal(stripAnsi(`${ESC}cReset${ESC}M${ESC}D${ESC}E`), 'Reset');
  assert.equal(stripAnsi(`${ESC}#8x${ESC}%Gy`), 'xy');
  assert.equal(stripAnsi(`stray ST${ESC}\\ here`), 'stray ST here');
});

test('stripAnsi: unterminated or malformed sequences never crash and do not eat text', () => {
  assert.equal(stripAnsi(`abc${ESC}`), 'abc');
  assert.equal(stripAnsi(`abc${ESC}[`), 'abc');
  assert.equal(stripAnsi(`abc${ESC}[12;3`), 'abc');
  assert.equal(stripAnsi(`abc${ESC}]0;unterminated title`), 'abc');
  assert.equal(stripAnsi(`abc${ESC}P`), 'abc');
  assert.equal(stripAnsi(`abc${ESC}(`), 'abc');
  assert.equal(stripAnsi('abc\x9b'), 'abc');
  // A broken CSI ends at the first byte that cannot belong to it; that byte stays.
  assert.equal(stripAnsi(`a${ESC}[12\nb`), 'a\nb');
  assert.equal(stripAnsi(`a${ESC}[1${ESC}[31mb`), 'ab');
  // ESC before a non-sequence character: the ESC alone goes.
  assert.equal(stripAnsi(`a${ESC}\nb`), 'a\nb');
  assert.equal(stripAnsi(`a${ESC}éb`), 'aéb');
  // An ESC inside a string ends it and starts the next sequence; CAN and SUB abort it.
  assert.equal(stripAnsi(`a${ESC}]0;title${ESC}[31mb`), 'ab');
  assert.equal(stripAnsi(`a${ESC}]0;title\x18b`), 'a\x18b');
  assert.equal(stripAnsi(`${ESC}${ESC}${ESC}[`), '');
});

test('stripAnsi leaves everything else alone', () => {
  const plain = 'plain text\twith tabs\r\nCRLF, \b backspace, \x07 bell, ünïcödé 🎉 and [brackets]';
  assert.equal(stripAnsi(plain), plain);
  assert.equal(stripAnsi(''), '');
  assert.equal(stripAnsi('[31m not an escape'), '[31m not an escape');
});

// ---- cleanOutput ---------------------------------------------------------------------------------

test('cleanOutput: carriage returns overwrite, CRLF is a newline', () => {
  assert.equal(cleanOutput('50%\r100%'), '100%');
  assert.equal(cleanOutput('abcdef\rxy'), 'xycdef');
  assert.equal(cleanOutput('a\r\nb\r\n'), 'a\nb\n');
  assert.equal(cleanOutput('a\r\r\nb'), 'a\nb');
  assert.equal(cleanOutput('line\r'), 'line');
  assert.equal(cleanOutput('\r\r\rx'), 'x');
  assert.equal(cleanOutput('one\ntwo\rTW\nthree'), 'one\nTWo\nthree');
  assert.equal(cleanOutput('[#   ] 10%\r[##  ] 50%\r[####] 100%\ndone\n'), '[####] 100%\ndone\n');
});

test('cleanOutput: backspace moves one column left', () => {
  assert.equal(cleanOutput('ab\bc'), 'ac');
  assert.equal(cleanOutput('abc\b\bX'), 'aXc');
  assert.equal(cleanOutput('\b\bx'), 'x');
  assert.equal(cleanOutput('a\n\bb'), 'a\nb'); // never into the previous line
  assert.equal(cleanOutput('spin|\b/\b-\b\\\bdone'), 'spindone');
});

test('cleanOutput: escape sequences go, erase-in-line and column moves apply', () => {
  assert.equal(cleanOutput(`${ESC}[32mok${ESC}[0m ${ESC}]0;title\x07done`), 'ok done');
  assert.equal(cleanOutput(`long text\r${ESC}[Kshort`), 'short');
  assert.equal(cleanOutput(`long text\r${ESC}[0Kshort`), 'short');
  assert.equal(cleanOutput(`abcdef${ESC}[3D${ESC}[K`), 'abc');
  assert.equal(cleanOutput(`abcdef${ESC}[2K`), '');
  assert.equal(cleanOutput(`abcdef${ESC}[2Kx`), '      x'); // the cursor stays in column 6
  assert.equal(cleanOutput(`abcdef${ESC}[3D${ESC}[1Kx`), '   xef');
  assert.equal(cleanOutput(`abcdef${ESC}[1GX`), 'Xbcdef');
  assert.equal(cleanOutput(`abcdef${ESC}[GX`), 'Xbcdef');
  assert.equal(cleanOutput(`ab${ESC}[5Gc`), 'ab  c');
  assert.equal(cleanOutput(`abcdef\r${ESC}[2CX`), 'abXdef');
  assert.equal(cleanOutput(`abc${ESC}[DX`), 'abX');
  assert.equal(cleanOutput(`ab${ESC}[?25l${ESC}[1Acd`), 'abcd'); // other sequences are just dropped
  assert.equal(cleanOutput('\x9b2K\x9bGab'), 'ab');
});

test('cleanOutput: other control characters are dropped, tabs and newlines stay', () => {
  assert.equal(cleanOutput('a\x07b\x00c\x0bd\x0ce\x7ff\x85g\x9ch\x1a'), 'abcdefgh');
  assert.equal(cleanOutput('a\tb\n\tc'), 'a\tb\n\tc');
  assert.equal(cleanOutput(''), '');
  const plain = 'nothing special here\nat all 🎉\n';
  assert.equal(cleanOutput(plain), plain);
});

test('cleanOutput: unterminated escapes at the end are removed', () => {
  for (const tail of [ESC, `${ESC}[`, `${ESC}[12;`, `${ESC}]0;title`, `${ESC}P1$r`, `${ESC}(`, '\x9b', '\x9d8;;http']) {
    assert.equal(cleanOutput(`text${tail}`), 'text', JSON.stringify(tail));
    assert.equal(cleanOutput(`a\rtext${tail}`), 'text', JSON.stringify(tail));
  }
});

test('cleanOutput: astral characters are one column each', () => {
  assert.equal(cleanOutput('🎉🎉🎉\rx'), 'x🎉🎉');
  assert.equal(cleanOutput('a🎉\bb'), 'ab');
  assert.equal(cleanOutput('ab\r🎉'), '🎉b');
});

test('cleanOutput: moves far past the end cannot blow up the output', () => {
  const out = cleanOutput(`${ESC}[999999999Cx\n${ESC}[99999999999999999999Gy`);
  assert.ok(out.length < 100, `${out.length}`);
  assert.ok(out.endsWith('y'), 'out.endsWith(\'y\')');
  const many = cleanOutput(`${ESC}[9999Cx\n`.repeat(10_000));
  assert.ok(many.length <= 2 * 10_000 * `${ESC}[9999Cx\n`.length, 'many.length <= 2 * 10_000 * `${ESC}[9999Cx\\n`.length');
});

/** A plain model of a terminal line discipline, one cell per code point, to compare against. */
function model(tokens: string[]): string {
  const lines: string[] = [];
  let cells: string[] = [];
  let col = 0;
  for (const t of tokens) {
    if (t === '\n' || t === '\r\n') {
      lines.push(cells.join(''));
      cells = [];
      col = 0;
    } else if (t === '\r') col = 0;
    else if (t === '\b') col = Math.max(0, col - 1);
    else if (t === `${ESC}[K`) cells.length = Math.min(cells.length, col);
    else if (t === `${ESC}[2K`) cells = [];
    else if (t === `${ESC}[1K`) for (let k = 0; k <= col && k < cells.length; k++) cells[k] = ' ';
    else if (t === `${ESC}[3G`) col = 2;
    else if (t === `${ESC}[2C`) col += 2;
    else if (t === `${ESC}[D`) col = Math.max(0, col - 1);
    else if (t.startsWith(ESC) || t === '\x07') continue;
    else
      for (const ch of t) {
        while (cells.length < col) cells.push(' ');
        cells[col++] = ch;
      }
  }
  lines.push(cells.join(''));
  return lines.join('\n');
}

test('cleanOutput matches a plain terminal model on random input', () => {
  const tokens = ['a', 'b', 'xyz', 'long words here', ' ', '\t', '🎉', 'é', '\n', '\r\n', '\r', '\b', '\x07',
    `${ESC}[K`, `${ESC}[2K`, `${ESC}[1K`, `${ESC}[31m`, `${ESC}[0m`, `${ESC}[3G`, `${ESC}[2C`, `${ESC}[D`, `${ESC}]0;t\x07`, `${ESC}(B`];
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  for (let round = 0; round < 3000; round++) {
    const picked: string[] = [];
    const count = 1 + Math.floor(random() * 30);
    for (let k = 0; k < count; k++) picked.push(tokens[Math.floor(random() * tokens.length)]!);
    const input = picked.join('');
    assert.equal(cleanOutput(input), model(picked), JSON.stringify(input));
  }
});

test('cleanOutput handles 10 MiB of mixed output quickly (linear time)', () => {
  const chunk =
    `${ESC}[32m[info]${ESC}[0m compiling module ${ESC}]8;;file:///x\x07x.ts${ESC}]8;;\x07\r\n` +
    'downloading [#####     ] 50%\rdownloading [##########] 100%\n' +
    `${ESC}[2K\rspinner |\b/\b-\b\\\bdone\n` +
    'plain log line with nothing special in it at all\n';
  const input = chunk.repeat(Math.ceil((10 * 1024 * 1024) / chunk.length));
  const started = performance.now();
  const out = cleanOutput(input);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5000, `cleanOutput took ${elapsed} ms`);
  const cleanChunk = '[info] compiling module x.ts\ndownloading [##########] 100%\nspinner done\nplain log line with nothing special in it at all\n';
  assert.equal(out, cleanChunk.repeat(Math.ceil((10 * 1024 * 1024) / chunk.length)));
  const strip = performance.now();
  stripAnsi(input);
  assert.ok(performance.now() - strip < 5000, 'performance.now() - strip < 5000');
  // One long line overwritten many times stays linear too.
  const adversarial = 'x'.repeat(1024 * 1024) + '\ry\b'.repeat(1024 * 1024) + `${ESC}[5C`.repeat(100_000);
  const t2 = performance.now();
  assert.equal(cleanOutput(adversarial).length, 1024 * 1024);
  assert.ok(performance.now() - t2 < 5000, 'performance.now() - t2 < 5000');
});
