/**
 * The broker deployed as a web function instead of an event function, as docs/deploy.md tells
 * a reader to do it: in serverless.yml, the broker's function gets `type: web` and `src: ./server`.
 */
import { parseDocument } from "yaml";

export const WEB_VARIANT = { function: "issue-credentials", type: "web", src: "./server" } as const;

/** serverless.yml's text with that edit made. */
export function webVariant(ymlText: string): string {
  const document = parseDocument(ymlText);
  document.setIn(["inputs", "functions", WEB_VARIANT.function, "type"], WEB_VARIANT.type);
  document.setIn(["inputs", "functions", WEB_VARIANT.function, "src"], WEB_VARIANT.src);
  return document.toString({ lineWidth: 0 });
}
