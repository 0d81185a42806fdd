"""iamguard.credentials"""
