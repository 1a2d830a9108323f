"""Messages out: the templates, what a message may say, the outbox.
"""
