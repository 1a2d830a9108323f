"""Messages in: the inbox (stored before acknowledged), the one door
(``intake``), conformity and satisfaction answers, delivery reports.
"""
