"""iamguard.store"""
