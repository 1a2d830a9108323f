"""The process's words and settings: Estado, Tipo_Incidencia, Prioridad, the
settings, the clock, the plain views and events every other part hands around.
The bottom layer: it imports nothing else of ours.
"""
