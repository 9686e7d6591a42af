"""Sharing between national nodes: markings, the release rule, partners, federation, audit."""
