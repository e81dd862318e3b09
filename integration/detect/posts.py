"""Is a public post a complaint? The social channel's own convention, learned.

A ticket that is a public post (channel ``social``) is read by the complaint convention of
complaint corpora: "@brand my order still hasn't arrived" is a complaint although nothing in
it is angry, and so are sarcasm ("love paying extra for 4K so I can watch a buffering wheel")
and a rhetorical question ("does anyone there read the messages?"). Tickets from other
channels keep the support convention, where a calm problem report is not a complaint.

The model is a logistic regression over the embedding of the post (the one the category model
read), its lexicon tone and its category, trained on the labeled development posts by
``integration.detect.training.posts`` and shipped as ``model/posts.npz``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy

from integration.detect.paths import MODEL_DIR
from integration.errors import ConfigurationError
from integration.models import Category

__all__ = ["POSTS_FILE", "PostReader", "post_features"]

POSTS_FILE = MODEL_DIR / "posts.npz"


def post_features(vector: numpy.ndarray | None, sentiment: float, category: Category,
                  *, dim: int) -> numpy.ndarray:
    """The post's features, in the order the model was trained on."""
    meaning = (numpy.zeros(dim) if vector is None
               else numpy.asarray(vector, dtype="float16").astype("float64"))
    tone = [sentiment, float(sentiment < 0)]
    return numpy.concatenate([meaning, tone, [float(category is c) for c in Category]])


class PostReader:
    """The trained weights: a post's features → the probability that it is a complaint."""

    def __init__(self, path: Path = POSTS_FILE) -> None:
        try:
            with numpy.load(path, allow_pickle=False) as data:
                self.weights = numpy.asarray(data["weights"], dtype="float64")
                self.bias = float(data["bias"])
                self.dim = int(data["dim"])
                self.at = float(data["at"])
        except (OSError, KeyError, ValueError, TypeError) as err:
            raise ConfigurationError(f"cannot load the post model at {path}: {err}") from err
        expected = self.dim + 2 + len(Category)
        if self.weights.shape != (expected,):
            raise ConfigurationError(f"the post model at {path} has weights of shape "
                                     f"{self.weights.shape}, expected ({expected},)")

    def probability(self, vector: numpy.ndarray | None, sentiment: float,
                    category: Category) -> float:
        """How likely the post is a complaint."""
        z = float(post_features(vector, sentiment, category, dim=self.dim) @ self.weights)
        z += self.bias
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
