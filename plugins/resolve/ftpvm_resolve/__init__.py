"""FTPVM Matte for DaVinci Resolve: the thin layer between Resolve's scripting API and ``ftpvm_client``.

Modules: ``plan`` (pure job planning), ``colour`` (Resolve colour names -> OCIO), ``sequences``
(image sequences), ``settings`` (the dialog's values), ``locations``/``install`` (where Resolve
looks), ``pixels`` (EXR/PNG via OpenImageIO), ``host`` (every Resolve API call), ``job`` (one run),
``dialog`` (UIManager window), ``app`` (entry point).
"""
__version__ = "0.1.0"
