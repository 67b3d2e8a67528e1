"""Dex and oauth2-proxy in front of the Central Dashboard, with a generated initial user."""
