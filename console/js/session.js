// Who is signed in, for the pages that offer actions: {name, scopes, auth}; null when signed out.
export const session = {who: null};

// Actions (replay, discard, pause, resume, reconcile) need the `ops` scope; `ops:read` only reads.
export function canAct() {
  return Boolean(session.who && (session.who.scopes || []).includes('ops'));
}

export const NEEDS_OPS = 'needs a key with the ops scope';
