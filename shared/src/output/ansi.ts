/**
 * Terminal output made readable as a log, in linear time:
 *
 * - `stripAnsi`: removes escape sequences (CSI incl. private modes and 8-bit CSI, OSC such as
 *   titles and hyperlinks, DCS/SOS/PM/APC strings, two-byte ESC sequences). Everything else stays.
 * - `cleanOutput`: stripAnsi plus terminal-like line semantics: CRLF is a newline, a lone CR
 *   returns to column 0 and later text overwrites the line (progress bars keep their final
 *   state), backspace moves one column left, erase-in-line (ESC[K) and column moves (ESC[nG,
 *   ESC[nC, ESC[nD) apply to the current line, other control characters are dropped.
 *
 * One column is one code point (wide characters are not measured). Movements across lines
 * (cursor up, screen clears) are not replayed: their sequences are just removed. Blanks added by
 * moves past the end of a line are limited to the input's length in total.
 */

const ESC = 0x1b;
const BEL = 0x07;
const CAN = 0x18;
const SUB = 0x1a;
/** 8-bit introducers: CSI, OSC, DCS, SOS, PM, APC; and ST. */
const C1_CSI = 0x9b;
const C1_ST = 0x9c;
const isC1String = (c: number) => c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f;
/** Anything that may start a sequence. */
const SEQUENCE_START = /[\x1b\x90\x98\x9b\x9d\x9e\x9f]/g;

/**
 * The end (exclusive) of the escape sequence starting at `i` (an ESC or a C1 introducer). A
 * malformed or unterminated sequence ends where it stops making sense (a CSI at its first
 * byte that cannot belong to it, a string at the end of the text): what it read is dropped, and
 * the byte that broke it is left for the caller.
 */
function sequenceEnd(s: string, i: number): number {
  const n = s.length;
  const c = s.charCodeAt(i);
  let j = i + 1;
  let kind: 'csi' | 'string';
  if (c === C1_CSI) kind = 'csi';
  else if (isC1String(c)) kind = 'string';
  else {
    if (j >= n) return j;
    const d = s.charCodeAt(j);
    if (d === 0x5b /* [ */) kind = 'csi';
    else if (d === 0x5d /* ] */ || d === 0x50 /* P */ || d === 0x58 /* X */ || d === 0x5e /* ^ */ || d === 0x5f /* _ */) kind = 'string';
    else {
      // ESC, intermediates (0x20-0x2f, e.g. `(` in ESC ( B), a final byte (0x30-0x7e).
      while (j < n && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x2f) j++;
      return j < n && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x7e ? j + 1 : j;
    }
    j++;
  }
  if (kind === 'csi') {
    // Parameters and intermediates (0x20-0x3f), then a final byte (0x40-0x7e).
    while (j < n && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x3f) j++;
    return j < n && s.charCodeAt(j) >= 0x40 && s.charCodeAt(j) <= 0x7e ? j + 1 : j;
  }
  // A control string, terminated by ST (ESC \ or 0x9c) or BEL; an other ESC, CAN or SUB aborts it.
  for (; j < n; j++) {
    const d = s.charCodeAt(j);
    if (d === BEL || d === C1_ST) return j + 1;
    if (d === ESC) return s.charCodeAt(j + 1) === 0x5c ? j + 2 : j;
    if (d === CAN || d === SUB) return j;
  }
  return n;
}

/** `text` without escape sequences (CSI, OSC, DCS, SOS, PM, APC, ESC x); other characters untouched. */
export function stripAnsi(text: string): string {
  const parts: string[] = [];
  let last = 0;
  const starts = new RegExp(SEQUENCE_START); // own lastIndex
  for (let m = starts.exec(text); m !== null; m = starts.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    last = sequenceEnd(text, m.index);
    starts.lastIndex = last;
  }
  if (last === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}

/** The one numeric parameter of a CSI (`ESC[12G` -> 12), or `fallback` when absent. */
function csiNumber(params: string, fallback: number): number {
  if (params === '') return fallback;
  const v = Number.parseInt(params, 10);
  return Number.isFinite(v) ? v : fallback;
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * The current line once something moved its cursor. While the cursor is at the end, or at
 * column 0 after a CR, the line is kept as appended strings; other cursor positions switch to
 * one cell per code point. A write from column 0 that covers the whole line (the usual
 * progress-bar redraw) replaces it without cells. Each switch to cells is paid for by the
 * writes that made the line, so all stays linear.
 */
class Line {
  private parts: string[] = [];
  private cells: string[] | null = null;
  /** Cursor column, in cells mode. */
  private col = 0;
  /** Strings mode with the cursor at column 0. */
  private home = false;

  /** `padBudget`: blanks moves past the end of a line may still add (bounded by the input size). */
  constructor(private padBudget: number) {}

  private content(): string {
    return this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
  }

  write(text: string): void {
    if (text === '') return;
    if (this.cells === null) {
      if (!this.home) {
        this.parts.push(text);
        return;
      }
      const current = this.content();
      if (text.length >= current.length && !SURROGATE.test(text) && !SURROGATE.test(current)) {
        this.parts = [text];
        this.home = false;
        return;
      }
      this.toCells();
    } else if (this.col === 0 && text.length >= this.cells.length && !SURROGATE.test(text)) {
      this.cells = null;
      this.parts = [text];
      return;
    }
    this.put(text);
  }

  /** Writes into cells at the cursor (a surrogate pair is one cell). */
  private put(text: string): void {
    const cells = this.cells!;
    if (cells.length < this.col) {
      const pad = Math.min(this.col - cells.length, this.padBudget);
      this.padBudget -= pad;
      for (let k = 0; k < pad; k++) cells.push(' ');
      this.col = cells.length;
    }
    for (let k = 0; k < text.length; k++) {
      const unit = text.charCodeAt(k);
      if (unit >= 0xd800 && unit <= 0xdbff && k + 1 < text.length) {
        cells[this.col++] = text.slice(k, k + 2);
        k++;
      } else cells[this.col++] = text[k]!;
    }
  }

  private toCells(): string[] {
    if (this.cells === null) {
      const text = this.content();
      const home = this.home;
      this.parts = [];
      this.home = false;
      this.cells = [];
      this.col = 0;
      this.put(text);
      if (home) this.col = 0;
    }
    return this.cells!;
  }

  /** Cursor to a column (0 = start). */
  moveTo(col: number): void {
    if (col <= 0 && this.cells === null) this.home = true;
    else {
      this.toCells();
      this.col = Math.max(0, col);
    }
  }

  moveBy(delta: number): void {
    this.toCells();
    this.col = Math.max(0, this.col + delta);
  }

  /** ESC[K (0: cursor to end, 1: start to cursor, 2: whole line; the cursor stays). */
  erase(mode: number): void {
    if (this.cells === null && (this.parts.length === 0 || (mode === 0 && !this.home))) return; // nothing to erase
    if (this.cells === null && this.home && (mode === 0 || mode === 2)) {
      this.parts = [];
      this.home = false;
      return;
    }
    const cells = this.toCells();
    if (mode === 0) cells.length = Math.min(cells.length, this.col);
    else if (mode === 1) for (let k = 0; k <= this.col && k < cells.length; k++) cells[k] = ' ';
    else if (mode === 2) cells.length = 0;
  }

  take(): string {
    const text = this.cells === null ? this.content() : this.cells.join('');
    this.parts = [];
    this.cells = null;
    this.col = 0;
    this.home = false;
    return text;
  }
}

/** Characters `cleanOutput` acts on or drops: C0 controls but \t, DEL, C1 controls. */
const SPECIAL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

const MOVE_TO = 1;
const MOVE_BY = 2;
const ERASE = 3;

/** CSI K (erase in line), G (column), C / D (right / left): the sequences `cleanOutput` applies. */
function cursorSequence(text: string, start: number, end: number): { final: number; params: string } | null {
  const c = text.charCodeAt(start);
  const paramsStart = c === C1_CSI ? start + 1 : start + 2;
  const final = text.charCodeAt(end - 1);
  if (c !== C1_CSI && (c !== ESC || text.charCodeAt(start + 1) !== 0x5b)) return null;
  if (end <= paramsStart || (final !== 0x4b && final !== 0x47 && final !== 0x43 && final !== 0x44)) return null;
  const params = text.slice(paramsStart, end - 1);
  return /^\d*$/.test(params) ? { final, params } : null;
}

/**
 * Terminal output as a readable log: escape sequences removed, carriage returns, backspaces,
 * erase-in-line and column moves applied per line, other control characters dropped.
 * `50%\r100%` -> `100%`, `abcdef\rxy` -> `xycdef`, `ab\bc` -> `ac`, `a\r\nb` -> `a\nb`.
 */
export function cleanOutput(text: string): string {
  const n = text.length;
  const out: string[] = [];
  const line = new Line(n);
  const specials = new RegExp(SPECIAL); // own lastIndex
  // Text is copied in stretches: what precedes `copied` is in `out`. A line whose cursor never
  // moves needs nothing else: dropped characters and sequences are skipped, and the pieces of
  // the line around them start at out[lineOut] (-1: none yet). Once its cursor moves (CR,
  // backspace, erase, column moves) the line lives in `line` ("dirty") until its newline.
  let copied = 0;
  let lineStart = 0;
  let lineOut = -1;
  let dirty = false;
  const endLine = (at: number) => {
    if (dirty) {
      line.write(text.slice(copied, at));
      out.push(line.take());
      dirty = false;
    } else if (at > copied) out.push(text.slice(copied, at));
    lineOut = -1;
  };
  for (let m = specials.exec(text); m !== null; m = specials.exec(text)) {
    const i = m.index;
    const c = text.charCodeAt(i);
    let end = i + 1;
    // What it does to the cursor: 0 nothing (dropped), else a MOVE_TO / MOVE_BY / ERASE with `arg`.
    let move = 0;
    let arg = 0;
    if (c === 0x0a || c === 0x0d) {
      if (c === 0x0d) while (end < n && text.charCodeAt(end) === 0x0d) end++;
      if (c === 0x0a || (end < n && text.charCodeAt(end) === 0x0a)) {
        // LF, CR LF (or CR CR LF): end of line; the LF goes out with the next stretch.
        const lf = c === 0x0a ? i : end;
        if (dirty || lf > i) {
          endLine(i);
          copied = lf;
        } else lineOut = -1; // a plain line's LF: nothing to do
        lineStart = lf + 1;
        specials.lastIndex = lf + 1;
        continue;
      }
      move = MOVE_TO;
    } else if (c === 0x08) {
      move = MOVE_BY;
      arg = -1;
    } else if (c === ESC || c === C1_CSI || isC1String(c)) {
      end = sequenceEnd(text, i);
      const seq = cursorSequence(text, i, end);
      if (seq !== null) {
        const v = seq.params;
        if (seq.final === 0x4b) [move, arg] = [ERASE, csiNumber(v, 0)];
        else if (seq.final === 0x47) [move, arg] = [MOVE_TO, csiNumber(v, 1) - 1];
        else [move, arg] = [MOVE_BY, (seq.final === 0x43 ? 1 : -1) * Math.max(1, csiNumber(v, 1))];
      }
    }
    if (copied < lineStart) {
      // Earlier lines not yet out (`copied` is at most the start of this line then).
      out.push(text.slice(copied, lineStart));
      copied = lineStart;
    }
    if (!dirty && move !== 0) {
      // The cursor moves: the line so far goes into `line`.
      if (lineOut !== -1) for (const piece of out.splice(lineOut)) line.write(piece);
      dirty = true;
    }
    if (dirty) {
      line.write(text.slice(copied, i));
      if (move === MOVE_TO) line.moveTo(arg);
      else if (move === MOVE_BY) line.moveBy(arg);
      else if (move === ERASE) line.erase(arg);
    } else if (i > copied) {
      // Dropped: skip it.
      if (lineOut === -1) lineOut = out.length;
      out.push(text.slice(copied, i));
    }
    copied = end;
    specials.lastIndex = end;
  }
  endLine(n);
  return out.join('');
}
