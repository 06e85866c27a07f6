// The little XML COS speaks: documents built from plain data (every text escaped), and
// the one request body the server reads (CompleteMultipartUpload).
import { CosError } from "./errors.ts";

/** `[name, text]` or `[name, children]`; undefined children are skipped. */
export type XmlNode = readonly [string, string | number | boolean | readonly (XmlNode | undefined)[]];

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

export function xmlDocument(root: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(root)}`;
}

function render([name, content]: XmlNode): string {
  if (typeof content !== "object") return `<${name}>${escapeXml(String(content))}</${name}>`;
  return `<${name}>${content.map((child) => (child ? render(child) : "")).join("")}</${name}>`;
}

export function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name]!);
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

const MAX_PARTS = 10_000;

/** `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part>...` */
export function parseCompleteMultipartUpload(body: string): CompletedPart[] {
  const malformed = () => new CosError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  if (!/<CompleteMultipartUpload(\s[^>]*)?>[\s\S]*<\/CompleteMultipartUpload>/.test(body)) throw malformed();
  const parts: CompletedPart[] = [];
  for (const match of body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const inner = match[1] ?? "";
    const number = /<PartNumber>\s*(\d{1,5})\s*<\/PartNumber>/.exec(inner)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(inner)?.[1];
    if (number === undefined || etag === undefined || parts.length >= MAX_PARTS) throw malformed();
    parts.push({ partNumber: Number(number), etag: unescapeXml(etag).trim() });
  }
  if (parts.length === 0) throw malformed();
  return parts;
}
