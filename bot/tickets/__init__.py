"""The ticket life: one unit of work for every change, the operations, the
read side, and replies to the customer queued inside the change.
"""
