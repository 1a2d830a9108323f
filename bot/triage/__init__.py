"""The quick analysis (issue 16): a suggested Tipo_Incidencia and Prioridad for every new
ticket, with the customer's words behind it.

Day-one rules over normalised text (``normalise``, ``signals``, ``rules``); a small
linear model that learns from the team's decisions (``learner``) and replaces the rules
per field only while it beats them on held-back examples; the service that stores the
suggestion on intake and keeps every decision as an example (``service``).
"""
