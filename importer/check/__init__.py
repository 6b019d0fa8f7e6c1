"""The checking stage: Help Scout's rules applied to mapped chunks in whole columns, giving each
row's issues and which rows may be sent.
"""
