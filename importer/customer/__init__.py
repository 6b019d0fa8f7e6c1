"""Help Scout's customer, as the other stages need it: its schema and rules, phones, countries,
names, the labels pages say them by, and what a column's values look like.
"""
