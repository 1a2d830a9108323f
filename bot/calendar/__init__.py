"""The business calendar: business hours, holidays, deadlines, each ticket's clock.
"""
