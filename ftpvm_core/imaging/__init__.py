"""Imaging helpers around the model: EXR/image I/O, OCIO colour, trimaps from roto, foreground estimation."""
