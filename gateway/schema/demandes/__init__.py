"""Demandes: the type, the catalogue, sending one, its attachments."""
