/** How a call ended, as one comparable string: "ok", or the code of the BrokerError it threw. */
import { BrokerError } from "../../lib/shared/errors.ts";

const describe = (error: unknown) => (error instanceof BrokerError ? error.code : `unexpected ${String(error)}`);

export function codeOf(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (error) {
    return describe(error);
  }
}

export async function outcomeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return describe(error);
  }
}
