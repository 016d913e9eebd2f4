"""« Connexion et sécurité »: the second factor, the step-up, and their mutations."""
