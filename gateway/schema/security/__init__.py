"""« Connexion et sécurité » in the graph: passkeys (`passkeys.py`, `passkey_mutations.py`) and
`Account.security` (`types.py`)."""
