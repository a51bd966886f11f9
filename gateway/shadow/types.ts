// What the shadow comparison works on and produces. The primary is the backend that answered the client;
// the shadow is the other one, sent the same request off the client's path.

/** One answer, fully buffered (a shadow never compares more than its route's max_body_bytes). */
export interface Answer {
  status: number
  /** Lower-case names, as Node gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>
  body: Buffer
}

export type DifferenceKind =
  | 'status' // the status codes differ
  | 'header' // a compared header differs (or is present on one side only)
  | 'changed' // a JSON value differs (same type, different value; numbers outside tolerance)
  | 'type' // a JSON value has a different type on each side
  | 'missing' // present on the primary, absent from the shadow (a key, or an array element)
  | 'extra' // absent from the primary, present on the shadow
  | 'order' // an array holds the same elements in a different order, where order matters
  | 'body' // non-JSON bodies (or JSON on one side only) whose bytes differ: compared by hash

export interface Difference {
  /**
   * Where, exactly: 'status', 'header:<name>', or an RFC 6901 JSON Pointer into the body ('' is the whole
   * body), with the array indexes of this answer; for an array matched by key, the primary's index.
   */
  path: string
  /**
   * The same place with every array index written as '*' ('status' and 'header:<name>' unchanged): what
   * mismatches are counted by, and what noise is learned as, so that its cardinality stays bounded.
   */
  field: string
  kind: DifferenceKind
  /** The primary's value there (absent for 'extra'); for 'body', the SHA-256 of the primary's body. */
  primary?: unknown
  /** The shadow's value there (absent for 'missing'); for 'body', the SHA-256 of the shadow's body. */
  shadow?: unknown
}

/** How a route's answers are normalised before they are compared. Validated and frozen at startup. */
export interface CompareRules {
  /** Lower-case header names compared between the answers (default: content-type). */
  headers: readonly string[]
  /** JSON Pointer patterns never compared; '*' matches any one segment (an array index or a key). */
  ignore: readonly string[]
  /**
   * Two numbers are equal when |a - b| <= absolute, or |a - b| <= relative * max(|a|, |b|). Both 0: exact.
   */
  tolerance: { readonly absolute: number, readonly relative: number }
  /**
   * Arrays at these pointer patterns are compared ignoring order. With a key, elements are matched by the
   * value of that member (a missing key on one side is 'missing' or 'extra' at the primary's/shadow's index);
   * without one, by their whole normalised value.
   */
  unordered: ReadonlyArray<{ readonly path: string, readonly key?: string }>
}
