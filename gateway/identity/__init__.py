"""Who is calling: access tokens, the signing key, sessions, signed download links, brute force."""
