"""The composition root and the command line: front ends wired, jobs started,
``atiende`` sub-commands. The top layer: it may import everything.
"""
