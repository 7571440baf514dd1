"""Constants and helpers shared by the engine tests."""
H, W = 64, 96
LINEAR = "Linear Rec.709 (sRGB)"


def frames_of(shot, idx):
    return [(i, shot.plates_linear[i]) for i in idx]
