"""« Connexion et sécurité » in the graph: `Account.security` (`types.py`), the second factor and
the step-up (`mutations.py`), passkeys (`passkeys.py`, `passkey_mutations.py`)."""
