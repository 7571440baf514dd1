"""The wide procedural training source (issue 17): named background, foreground and trimap families, camera and
object motion, capture effects, and a held-out split (``registry.HELD_OUT``) that training never draws from."""
from ftpvm_core.train.procedural.registry import HELD_OUT, families, get, training_families
from ftpvm_core.train.procedural.shot import ProceduralShot, ShotRecipe, choose_recipe, make_procedural_shot

__all__ = ["HELD_OUT", "families", "get", "training_families", "ProceduralShot", "ShotRecipe", "choose_recipe",
           "make_procedural_shot"]
