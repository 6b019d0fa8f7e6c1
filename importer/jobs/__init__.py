"""The jobs the commands run (validate, import, plan, undo), each a short function over the stages
below it.
"""
