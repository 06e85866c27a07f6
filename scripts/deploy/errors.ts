/** A deploy that cannot go on: the message says what happened and what to do; no stack trace is shown. */
export class DeployError extends Error {}
