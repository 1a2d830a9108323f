"""Records kept safe: backups, personal-data requests, and a ticket's case file.

Everything here is core logic with no chat library: the CLI (``bot/commands``) and the
chat front ends call it and only render what it returns. Every archive this package
writes has the same shape (``archive.py``): the files plus a ``manifest.json`` listing
each one with its SHA-256, so whoever receives it can check nothing was altered.
"""
