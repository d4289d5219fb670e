// AzureCommunicationTokenCredential: holds the access token a CallAgent signs in with.
//
// The token is a JWT issued by the calling service; its claims name the user
// (`sub`) and the service (`endpoint`), so a client finds its service from the
// token alone, as the Python SDK does.

function decodeClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !part)) {
    throw new TypeError(
      'AzureCommunicationTokenCredential: expected an access token (a JWT: three base64url ' +
        `parts joined by dots), got a string of ${parts.length} part(s)`,
    );
  }
  let claims;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new TypeError('AzureCommunicationTokenCredential: the token\'s claims are not base64url JSON');
  }
  if (claims === null || typeof claims !== 'object' || typeof claims.sub !== 'string') {
    throw new TypeError('AzureCommunicationTokenCredential: the token has no "sub" (user id) claim');
  }
  if (typeof claims.endpoint !== 'string' || !/^https?:\/\//.test(claims.endpoint)) {
    throw new TypeError(
      'AzureCommunicationTokenCredential: the token has no "endpoint" claim (http(s)://host:port/); ' +
        'was it issued by an engine_plugin calling service?',
    );
  }
  return claims;
}

export class AzureCommunicationTokenCredential {
  #token;
  #claims;
  #disposed = false;

  /**
   * @param {string | {token: string}} tokenOrOptions an access token, or `{token}`
   *   (the options form of the Azure SDK; a `tokenRefresher` is not supported).
   */
  constructor(tokenOrOptions) {
    const token = typeof tokenOrOptions === 'string' ? tokenOrOptions : tokenOrOptions?.token;
    if (typeof token !== 'string' || !token) {
      throw new TypeError(
        'AzureCommunicationTokenCredential expects an access token string (or {token}), got ' +
          (tokenOrOptions === null ? 'null' : typeof tokenOrOptions),
      );
    }
    this.#claims = decodeClaims(token);
    this.#token = token;
  }

  /** `{token, expiresOnTimestamp}` (milliseconds since the epoch). */
  async getToken() {
    if (this.#disposed) throw new Error('AzureCommunicationTokenCredential is disposed');
    return { token: this.#token, expiresOnTimestamp: (this.#claims.exp ?? 0) * 1000 };
  }

  /** Forget the token. */
  dispose() {
    this.#disposed = true;
  }

  /** The user the token belongs to (`8:acs:...`). Not part of the Azure API. */
  get _userId() {
    return this.#claims.sub;
  }

  /** The service that issued the token, `http://host:port/`. Not part of the Azure API. */
  get _endpoint() {
    return this.#claims.endpoint;
  }
}
