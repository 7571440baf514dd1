"""A faithful fake of DaVinci Resolve's scripting API (the parts FTPVM Matte uses) for tests."""
