// Who may call the emulator: permanent keys, SCF-style execution-role keys, and every
// temporary credential the emulator issued. Secrets are generated at run time only.
import { randomBytes, randomInt } from "node:crypto";
import type { IssuedCredential, PermanentKey, TemporaryKey } from "./types.ts";

/** The authenticated caller of one request. */
export interface Caller {
  secretId: string;
  secretKey: string;
  appid: string;
  uin: string;
  /** temporary keys only: the token the caller must present, and when it stops working (unix s) */
  token?: string;
  expiredTime?: number;
  /** a sub-account's permanent key */
  subAccount?: boolean;
  /** set when this emulator issued the key through AssumeRole or GetFederationToken */
  issued?: IssuedCredential;
}

// The account of Tencent's documentation examples (bucket examplebucket-1250000000), so the
// default key can sign for the sample bucket without extra configuration.
const DEFAULT_ACCOUNT = { appid: "1250000000", uin: "100000000001" };
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomAlnum(length: number): string {
  return Array.from({ length }, () => ALNUM[randomInt(ALNUM.length)]).join("");
}

/** Real SecretIds are "AKID" + 32 alphanumerics; clients sometimes check the shape. */
function newSecretId(): string {
  return `AKID${randomAlnum(32)}`;
}

function newToken(): string {
  return randomBytes(150).toString("base64url");
}

export function generateKey(): PermanentKey {
  return { secretId: newSecretId(), secretKey: randomAlnum(32), ...DEFAULT_ACCOUNT };
}

/** Everything about a credential but its secrets, which the registry makes. */
type CredentialTerms = Omit<IssuedCredential, "tmpSecretId" | "tmpSecretKey" | "token">;

/** Told every secret the emulator is configured with or hands out (tests keep a ledger of them). */
export type SecretListener = (kind: "secretKey" | "tmpSecretKey" | "sessionToken", value: string) => void;

export class Registry {
  readonly issued = new Map<string, IssuedCredential>();
  private readonly byToken = new Map<string, IssuedCredential>();
  private readonly temporary = new Map<string, Caller>();

  constructor(
    readonly keys: PermanentKey[],
    private readonly onSecret: SecretListener = () => {},
  ) {
    for (const key of keys) onSecret("secretKey", key.secretKey);
  }

  resolve(secretId: string): Caller | undefined {
    const key = this.keys.find((k) => k.secretId === secretId);
    if (key) return { ...key };
    const issued = this.issued.get(secretId);
    if (issued) {
      const { tmpSecretId, tmpSecretKey, token, expiredTime, appid, uin } = issued;
      return { secretId: tmpSecretId, secretKey: tmpSecretKey, token, expiredTime, appid, uin, issued };
    }
    return this.temporary.get(secretId);
  }

  issue(terms: CredentialTerms): IssuedCredential {
    const credential: IssuedCredential = {
      tmpSecretId: newSecretId(),
      tmpSecretKey: randomAlnum(40),
      token: newToken(),
      ...terms,
    };
    this.onSecret("tmpSecretKey", credential.tmpSecretKey);
    this.onSecret("sessionToken", credential.token);
    this.issued.set(credential.tmpSecretId, credential);
    this.byToken.set(credential.token, credential);
    return credential;
  }

  credentialByToken(token: string): IssuedCredential | undefined {
    return this.byToken.get(token);
  }

  /** Execution-role keys belong to the first configured account, like SCF's role keys. */
  addTemporaryKey(expiredTime: number): TemporaryKey {
    const account = this.keys[0] ?? DEFAULT_ACCOUNT;
    const key = { secretId: newSecretId(), secretKey: randomAlnum(40), token: newToken(), expiredTime };
    this.onSecret("secretKey", key.secretKey);
    this.onSecret("sessionToken", key.token);
    this.temporary.set(key.secretId, { ...key, appid: account.appid, uin: account.uin });
    return { ...key };
  }
}
