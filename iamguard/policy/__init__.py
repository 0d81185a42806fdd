"""iamguard.policy"""
