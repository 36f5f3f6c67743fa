/** Whether a screenshot shows anything: the e2e tests keep screenshots as artifacts and check them. */
import { inflateSync } from 'node:zlib';

/**
 * Share of non-zero bytes in a PNG's inflated image data. Each scanline is stored as differences
 * (PNG filters), so a blank or single-colour screenshot is almost all zeros; text and charts are not.
 */
export function pngInkShare(png: Buffer): number {
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  let ink = 0;
  for (const b of raw) if (b !== 0) ink++;
  return ink / raw.length;
}
