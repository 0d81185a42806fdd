"""iamguard.sts"""
