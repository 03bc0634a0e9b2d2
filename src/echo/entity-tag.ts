/**
 * If-Match against one strong entity-tag (RFC 9110 §13.1.1): `*`, or a list of tags of which
 * one is the same strong tag. A weak tag (W/"…") never matches: If-Match compares strongly.
 */
export function ifMatchSatisfied(header: string, etag: string): boolean {
  const value = header.trim();
  if (value === '*') return true;
  return (value.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag === etag);
}
