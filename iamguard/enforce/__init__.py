"""iamguard.enforce"""
