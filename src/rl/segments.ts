// Segmentation of a policy response into reasoning steps for process rewards, and the mapping
// of those steps onto the response's tokens (every token of segment k later gets value_k).
//
// Offsets are JavaScript string offsets (UTF-16 code units), the same units as `string.length`.

/** One reasoning step: `text === response.slice(start, end)`. */
export interface Segment {
  index: number;
  start: number;
  end: number;
  text: string;
}

export interface SegmentOptions {
  /** Marks the end of a step; belongs to the segment it closes. Must be non-empty. */
  delimiter: string;
  /** At most this many segments; text past the cap joins the last one. null: no cap. */
  maxSegments: number | null;
}

function checkOptions(opts: SegmentOptions): void {
  if (typeof opts.delimiter !== 'string' || opts.delimiter.length === 0) {
    throw new Error(`segmentText: delimiter ${JSON.stringify(opts.delimiter)} must be a non-empty string`);
  }
  if (opts.maxSegments !== null && (!Number.isInteger(opts.maxSegments) || opts.maxSegments < 1)) {
    throw new Error(`segmentText: maxSegments ${opts.maxSegments} must be a positive integer or null`);
  }
}

/**
 * Splits `text` into segments that cover it exactly (contiguous, no gaps, no overlaps).
 *
 * - Delimiter occurrences are found left to right without overlap; each closes the segment that
 *   contains it, and the text after the last delimiter is the final segment.
 * - A piece with nothing but whitespace apart from its delimiter (a blank line when the delimiter
 *   is "\n", a repeated "###", a whitespace-only tail) is "empty": giving the judge an empty step
 *   to score would waste a call and reward nothing, so it joins the segment before it (a leading
 *   empty piece joins the segment after it). In particular an empty or whitespace-only final
 *   segment is dropped as a segment of its own, while its characters stay covered.
 * - A text that is all whitespace and delimiters is one segment; the empty text has none.
 * - With more than `maxSegments` pieces, everything from the cap-th on is one last segment
 *   (`maxSegments` null: no cap).
 */
export function segmentText(text: string, opts: SegmentOptions): Segment[] {
  checkOptions(opts);
  if (text.length === 0) return [];
  const d = opts.delimiter;
  const pieces: [number, number][] = [];
  let pos = 0;
  for (let i = text.indexOf(d, pos); i !== -1; i = text.indexOf(d, pos)) {
    pieces.push([pos, i + d.length]);
    pos = i + d.length;
  }
  if (pos < text.length) pieces.push([pos, text.length]);

  const isEmpty = ([s, e]: [number, number]): boolean => {
    let body = text.slice(s, e);
    if (body.endsWith(d)) body = body.slice(0, body.length - d.length);
    return body.trim().length === 0;
  };
  const merged: [number, number][] = [];
  let pendingStart = -1; // start of leading empty pieces, waiting for a non-empty one
  for (const p of pieces) {
    if (isEmpty(p)) {
      if (merged.length > 0) merged[merged.length - 1][1] = p[1];
      else if (pendingStart < 0) pendingStart = p[0];
      continue;
    }
    merged.push([pendingStart >= 0 ? pendingStart : p[0], p[1]]);
    pendingStart = -1;
  }
  if (merged.length === 0) merged.push([0, text.length]);

  if (opts.maxSegments !== null && merged.length > opts.maxSegments) {
    const last = opts.maxSegments - 1;
    merged[last][1] = merged[merged.length - 1][1];
    merged.length = opts.maxSegments;
  }
  return merged.map(([start, end], index) => ({ index, start, end, text: text.slice(start, end) }));
}

/** Segment `k` covers tokens `[tokenStart, tokenEnd)`; may be empty (see `tokenSegments`). */
export interface TokenRange {
  tokenStart: number;
  tokenEnd: number;
}

export interface TokenSegmentation {
  /** Per token, the index of its segment; -1 only when there are no segments at all. */
  tokenSegment: Int32Array;
  /** Per segment, its token range; ranges are contiguous and in order. */
  ranges: TokenRange[];
}

/**
 * Maps tokens to segments, given each token's decoded string (their concatenation must be the
 * segmented text). A token belongs to the segment holding its first character: a token that
 * straddles a boundary (".\nThe" with delimiter "\n") therefore goes to the segment it starts
 * in, so the token that carries a delimiter always stays with the step it closes. A token that
 * decodes to "" (EOS, special tokens) belongs with the character before it (segment 0 when it
 * comes first). A segment lying entirely inside one token gets an empty token range: its value
 * then reaches no token, which is the price of tokens coarser than steps.
 */
export function tokenSegments(pieces: readonly string[], segments: readonly Segment[]): TokenSegmentation {
  let total = 0;
  for (const p of pieces) total += p.length;
  const textLength = segments.length === 0 ? 0 : segments[segments.length - 1].end;
  if (total !== textLength) {
    throw new Error(`tokenSegments: token pieces cover ${total} characters but the segments cover ${textLength}`);
  }
  const tokenSegment = new Int32Array(pieces.length);
  const ranges: TokenRange[] = segments.map(() => ({ tokenStart: 0, tokenEnd: 0 }));
  if (segments.length === 0) {
    tokenSegment.fill(-1);
    return { tokenSegment, ranges };
  }
  let seg = 0;
  let offset = 0;
  for (let t = 0; t < pieces.length; t++) {
    // Segments are contiguous and offsets only grow, so one forward pointer suffices.
    const probe = pieces[t].length > 0 ? offset : Math.max(0, offset - 1);
    while (seg < segments.length - 1 && probe >= segments[seg].end) seg++;
    tokenSegment[t] = seg;
    offset += pieces[t].length;
  }
  // Ranges from the (non-decreasing) assignment; a segment with no tokens sits where it would start.
  let t = 0;
  for (let k = 0; k < segments.length; k++) {
    ranges[k].tokenStart = t;
    while (t < pieces.length && tokenSegment[t] === k) t++;
    ranges[k].tokenEnd = t;
  }
  return { tokenSegment, ranges };
}

/** Segments the concatenated token strings and maps each token to its segment. */
export function segmentTokens(
  pieces: readonly string[],
  opts: SegmentOptions,
): { text: string; segments: Segment[] } & TokenSegmentation {
  const text = pieces.join('');
  const segments = segmentText(text, opts);
  return { text, segments, ...tokenSegments(pieces, segments) };
}
