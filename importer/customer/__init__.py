"""customer"""
