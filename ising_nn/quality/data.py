"""Data sets that ship with our dependencies: scikit-learn's digits and CPython's pydoc topics.

Both are split into a training part and a held-out part with a seed, so the task metrics of the quality
experiments need no download.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ising_nn.errors import IsingNNError

__all__ = ["DigitsSplit", "TextSplit", "digits_split", "text_split", "char_tokenizer"]

UNK = "\ufffd"  # token for characters absent from the training text


@dataclass(frozen=True)
class DigitsSplit:
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1].

    Attributes
    ----------
    x_train, x_test : ndarray, shape (n, 1, 8, 8), float32
    y_train, y_test : ndarray, shape (n,), int64
    seed : int
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int


@dataclass(frozen=True)
class TextSplit:
    """``pydoc_data.topics`` split by whole topics into training and held-out text."""

    train: str
    heldout: str
    heldout_topics: tuple[str, ...]
    seed: int


def _check_fraction(f: float, what: str) -> float:
    f = float(f)
    if not 0.0 < f < 1.0:
        raise IsingNNError(f"{what} must be strictly between 0 and 1, got {f}")
    return f


def digits_split(seed: int = 0, test_fraction: float = 0.2) -> DigitsSplit:
    """Stratified split of ``sklearn.datasets.load_digits`` (1797 images)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_fraction = _check_fraction(test_fraction, "test_fraction")
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=int(seed), stratify=y
    )
    return DigitsSplit(x_tr, y_tr, x_te, y_te, int(seed))


def text_split(seed: int = 0, heldout_fraction: float = 0.1) -> TextSplit:
    """The Python documentation topics (about 465,000 characters), split by whole topics.

    Topics are taken in a seeded random order into the held-out part until it holds at least
    ``heldout_fraction`` of the characters; the rest, in sorted order, is the training text.
    """
    from pydoc_data.topics import topics

    heldout_fraction = _check_fraction(heldout_fraction, "heldout_fraction")
    keys = sorted(topics)
    total = sum(len(topics[k]) for k in keys)
    order = np.random.default_rng(seed).permutation(len(keys))
    held: list[str] = []
    n = 0
    for i in order:
        if n >= heldout_fraction * total:
            break
        held.append(keys[i])
        n += len(topics[keys[i]])
    held_set = set(held)
    train = "".join(topics[k] for k in keys if k not in held_set)
    heldout = "".join(topics[k] for k in sorted(held_set))
    return TextSplit(train, heldout, tuple(sorted(held_set)), int(seed))


def char_tokenizer(text: str):
    """A character-level ``PreTrainedTokenizerFast`` whose vocabulary is the characters of ``text``.

    A BPE model without merges splits any string into single characters; characters not in ``text`` map
    to an unknown token. Saved with the model by ``save_pretrained``, so a trained model folder is a
    standard Hugging Face folder that :mod:`ising_nn.quality.hub` can evaluate too.
    """
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    chars = sorted(set(text) - {UNK})
    if not chars:
        raise IsingNNError("cannot build a character vocabulary from an empty text")
    vocab = {UNK: 0, **{c: i + 1 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=UNK)
