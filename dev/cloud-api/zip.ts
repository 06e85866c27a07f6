// A stored code zip's files with their Unix modes, which fflate's unzip does not report: read
// from the central directory (PKWARE APPNOTE.txt 4.3.12: signature 0x02014b50, "version made
// by" at +4 with the OS in its high byte, name length at +28, extra at +30, comment at +32,
// external attributes at +38, name at +46; the end record 0x06054b50 holds the directory's
// offset at +16). SCF needs a web function's scf_bootstrap executable.
import { unzipSync } from "fflate";

export interface ZipEntry {
  readonly data: Uint8Array;
  /** Permission bits, when the zip was made on Unix; undefined otherwise. */
  readonly mode?: number;
}

export function zipEntries(zip: Uint8Array): Map<string, ZipEntry> {
  const files = unzipSync(zip);
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = lastIndexOf(view, 0x06054b50);
  const modes = new Map<string, number>();
  for (let at = view.getUint32(end + 16, true); view.getUint32(at, true) === 0x02014b50; ) {
    const [nameLength, extraLength, commentLength] = [view.getUint16(at + 28, true), view.getUint16(at + 30, true), view.getUint16(at + 32, true)];
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength));
    if (view.getUint8(at + 5) === 3) modes.set(name, (view.getUint32(at + 38, true) >>> 16) & 0o7777);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return new Map(Object.entries(files).map(([name, data]) => [name, { data, mode: modes.get(name) }]));
}

function lastIndexOf(view: DataView, signature: number): number {
  for (let at = view.byteLength - 22; at >= 0; at -= 1) if (view.getUint32(at, true) === signature) return at;
  throw new Error("not a zip: no end of central directory record");
}
