"""Scheduled jobs that take the assembled services: the daily records job and
the weekly report (each runs once, under a lease).
"""
