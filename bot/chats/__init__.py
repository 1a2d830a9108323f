"""Chat cards: a ticket's card content and where each card lives in each chat.
"""
