/**
 * Stands in for form-data (and its mime-db tables) in the deployed bundle. The STS SDK
 * builds a FormData only for multipart requests (http_connection.js, `multipart: true`),
 * which no STS action uses; if one ever does, it fails loudly instead of sending garbage.
 */
export default class FormData {
  constructor() {
    throw new Error("multipart requests are not supported in this bundle (form-data is stubbed out by scripts/bundle.ts)");
  }
}
