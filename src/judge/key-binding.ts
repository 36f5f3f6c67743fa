// An API key bound to the origin it was entered for. Pure: no DOM, no Node; the page, the worker
// and tests share it. A key goes to the origin it is bound to and nowhere else: an endpoint
// that moves to another origin (an edited field, a link, an imported setup) gets no key until
// the user binds the key to the new origin.

/** A judge API key and the endpoint origin it may be sent to. */
export interface KeyBinding {
  origin: string;
  key: string;
}

/** The origin of an http(s) endpoint ("http://127.0.0.1:8000"), or null (not a URL, or another scheme). */
export function endpointOrigin(endpoint: string): string | null {
  let u: URL;
  try {
    u = new URL(endpoint.trim());
  } catch {
    return null;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
}

/** The key to send to `endpoint`: the binding's key when the endpoint is at the binding's origin, else undefined. */
export function boundKey(binding: KeyBinding | null | undefined, endpoint: string): string | undefined {
  if (binding === null || binding === undefined || binding.key === '') return undefined;
  const origin = endpointOrigin(endpoint);
  return origin !== null && origin === binding.origin ? binding.key : undefined;
}
