/** The part of the global `fetch` the broker and the check use; tests hand in their own. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
