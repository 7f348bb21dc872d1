// The login session of this tab. The access token stays in memory; the refresh token (and the account shown) in
// sessionStorage, so a reload keeps the person logged in and closing the tab ends it. Nothing is decided here: the API
// judges every request, and a refused token sends the person back to the login page.
import { useSyncExternalStore } from 'react';
import createClient from 'openapi-fetch';
import type { components, paths } from '../api/schema';

type Tokens = components['schemas']['Tokens'];
type User = components['schemas']['User'];
export type Language = 'en' | 'fr';

interface State {
  user: User | null;
  /** Why the last session ended, for the login page to say so. */
  ended: 'expired' | 'logout' | null;
  /** The interface language: the account's, else the browser's. */
  language: Language;
}

const STORAGE = 'mediconnect.session';
/** Refresh when fewer seconds than this remain: a request never leaves with a token about to expire. */
const MARGIN_MS = 30_000;

let state: State = { user: null, ended: null, language: navigator.language.toLowerCase().startsWith('fr') ? 'fr' : 'en' };
let access: { token: string; expiresAt: number } | null = null;
let refreshToken: string | null = null;
let refreshing: Promise<string | null> | null = null;
const listeners = new Set<() => void>();

function emit(next: Partial<State>): void {
  state = { ...state, ...next };
  for (const l of listeners) l();
}

function persist(): void {
  if (refreshToken && state.user) sessionStorage.setItem(STORAGE, JSON.stringify({ refreshToken, user: state.user }));
  else sessionStorage.removeItem(STORAGE);
}

/** The refresh call's own client: typed like every other, without the session middleware (which waits on it). */
const tokens = createClient<paths>({ baseUrl: '' });

/** Exchanges the refresh token for a new pair (rotation); null when the session is over. */
async function refresh(): Promise<string | null> {
  if (!refreshToken) return null;
  const answer = await tokens
    .POST('/api/auth/refresh', { body: { refreshToken }, headers: { 'Accept-Language': state.language } })
    .catch(() => null);
  // Unreachable: keep the session, the next request tries again.
  if (!answer) return access?.token ?? null;
  if (!answer.data) {
    session.end('expired');
    return null;
  }
  session.start(answer.data);
  return access!.token;
}

export const session = {
  /** Starts (or renews) the session from a login or refresh answer. */
  start(tokens: Tokens): void {
    access = { token: tokens.accessToken, expiresAt: Date.now() + tokens.expiresIn * 1000 };
    refreshToken = tokens.refreshToken;
    emit({ user: tokens.user, ended: null, language: tokens.user.locale ?? state.language });
    persist();
  },
  /** The account changed (password, language): what the screens show follows. */
  updateUser(user: User): void {
    emit({ user, language: user.locale ?? state.language });
    persist();
  },
  /** Ends the session in this tab (the server-side logout is the caller's). */
  end(why: 'expired' | 'logout'): void {
    if (!state.user && !refreshToken) return;
    access = null;
    refreshToken = null;
    emit({ user: null, ended: why });
    persist();
  },
  /** A valid access token, refreshed first when it is about to expire; null when logged out. */
  async accessToken(): Promise<string | null> {
    if (access && access.expiresAt - Date.now() > MARGIN_MS) return access.token;
    if (!refreshToken) return null;
    refreshing ??= refresh().finally(() => (refreshing = null));
    return refreshing;
  },
  /** The refresh token, for the logout call. */
  refreshToken: (): string | null => refreshToken,
  language: (): Language => state.language,
  setLanguage(language: Language): void {
    emit({ language });
  },
  /** Restores the session of this tab after a reload (a refresh, since the access token was in memory). */
  async restore(): Promise<void> {
    const saved = sessionStorage.getItem(STORAGE);
    if (!saved) return;
    try {
      const parsed = JSON.parse(saved) as { refreshToken: string; user: User };
      refreshToken = parsed.refreshToken;
      state = { ...state, user: parsed.user, language: parsed.user.locale ?? state.language };
      await session.accessToken();
    } catch {
      sessionStorage.removeItem(STORAGE);
    }
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  snapshot: (): State => state,
};

/** The session as React sees it. */
export function useSession(): State {
  return useSyncExternalStore(session.subscribe, session.snapshot);
}
