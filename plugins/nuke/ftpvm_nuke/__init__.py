"""FTPVM for Nuke: the FTPVMMatte node.

``plan`` (pure decisions), ``guides`` and ``exr`` (numpy only), ``process`` (one Process press, host
independent), ``messages`` (what the artist reads), ``node`` (the Nuke adapter), ``install``
(vendoring the client into Nuke's Python).
"""
__version__ = "0.1.0"
