"""iamguard.authn"""
