"""Console rules: web sessions, sign-in with lock-out, account administration (they never commit)."""
