/**
 * Stands in for json-bigint (and bignumber.js). The SDK uses it only to serialize request
 * bodies (common/http/http_connection.js, `JSONbigNative.stringify`) and to hash the same body
 * for the TC3 signature (common/sign.js), and the broker's STS parameters hold strings and
 * numbers only, for which JSON.stringify yields the same JSON.
 * A BigInt would make JSON.stringify throw rather than pass silently.
 */
export default function jsonBigint(): Pick<typeof JSON, "stringify" | "parse"> {
  return { stringify: JSON.stringify, parse: JSON.parse };
}
