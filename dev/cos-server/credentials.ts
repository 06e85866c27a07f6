// Who may call the COS server: the keys the STS emulator knows. The server shares the
// emulator's registry instead of keeping its own, so a credential the broker obtained from
// STS works here exactly as long as the emulator says, with the session policy it decoded.
import type { StsEmulator } from "../sts-emulator/index.ts";

export interface CosCredential {
  readonly secretKey: string;
  /** temporary keys: the x-cos-security-token they must travel with */
  readonly token?: string;
  /** temporary keys: unix seconds after which the token is refused */
  readonly expiredTime?: number;
  /** the decoded session policy; absent for the account's own (root) keys */
  readonly policy?: unknown;
  /** the account; it owns the buckets whose names end in `-<appid>` */
  readonly appid: string;
  /** a permanent key of the account: no session policy, full rights on its buckets */
  readonly root: boolean;
}

export type CredentialLookup = (secretId: string) => CosCredential | undefined;

/** Reads the emulator's live registry at each request: newly issued credentials work at once. */
export function credentialsFrom(emulator: Pick<StsEmulator, "issued" | "keys">): CredentialLookup {
  return (secretId) => {
    const issued = emulator.issued.get(secretId);
    if (issued) {
      const { tmpSecretKey, token, expiredTime, policy, appid } = issued;
      return { secretKey: tmpSecretKey, token, expiredTime, policy, appid, root: false };
    }
    const key = emulator.keys.find((candidate) => candidate.secretId === secretId);
    return key && { secretKey: key.secretKey, appid: key.appid, root: true };
  };
}
