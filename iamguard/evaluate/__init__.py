"""iamguard.evaluate"""
