"""Customers and the team: finding, editing and merging customers; team members.
"""
