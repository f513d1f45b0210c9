"""The generated world: fictional people, organisations and places, their biographies, and the
files ``lmlm data world`` writes. One package for every kind of generated data.

* :mod:`.people`: the world itself (:func:`generate_world`), deterministic for a seed;
* :mod:`.biographies`: biographies with every fact written as a lookup, and the prompt templates;
* :mod:`.data`: the directory of training and evaluation files (:func:`write_world`).
"""

from .data import FORGET_SPLITS, WorldDataConfig, WorldManifest, write_world
from .people import PRONOUNS, Person, World, WorldConfig, generate_world

__all__ = [
    "FORGET_SPLITS",
    "PRONOUNS",
    "Person",
    "World",
    "WorldConfig",
    "WorldDataConfig",
    "WorldManifest",
    "generate_world",
    "write_world",
]
