/**
 * Stands in for the SDK's server-sent-events reader (common/sse_response_model.js, and the
 * readline module it loads at start). abstract_client.js builds one only for a
 * `text/event-stream` answer, which no STS action gives; if one ever does, it fails loudly.
 */
export class SSEResponseModel {
  constructor() {
    throw new Error("event-stream answers are not supported in this bundle (sse_response_model is stubbed out by scripts/bundle.ts)");
  }
}
