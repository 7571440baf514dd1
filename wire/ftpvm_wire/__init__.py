"""The wire and the rules every layer shares: free of torch, importable on Python 3.9+.

This leaf package is imported by the engine, the server, the client, the command line and the three host
plugins (it is vendored with the client into the hosts). It must never import anything of this project above it.
"""
