/**
 * The one AWS-shaped refusal: an exception name (`type`, what the SDK turns into its named
 * exception class), a message and an HTTP status. Each protocol renders it its own way —
 * restJson1 (API Gateway: header `x-amzn-errortype` + `{"message"}`) or awsJson1_1
 * (Marketplace: `{"__type", "message"}`).
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}
