"""Item 3: Hugging Face causal language models by name, perplexity on wikitext through ``datasets``.

One code path for the hub and for local files: the text always comes from ``datasets.load_dataset``
(``wikitext`` from the hub, or the ``text`` builder on a local file), the model and tokenizer from
``transformers`` (a hub name, an alias of :data:`ising_nn.model.load.ALIASES`, or a local ``save_pretrained``
folder), and the perplexity from :func:`~.metrics.perplexity`. ``datasets`` is an optional dependency.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ising_nn.errors import IsingNNError
from ising_nn.model.load import resolve_hub_name
from ising_nn.quality.ising import DEFAULT_QUENCH, QuenchSettings
from ising_nn.quality.metrics import Metric, perplexity
from ising_nn.quality.shuffle_eval import FRACTIONS, quality_dir, shuffle_experiment
from ising_nn.quality.tables import cached_table

__all__ = ["TEXTS", "load_text", "load_lm", "hub_perplexity", "hub_shuffle_experiment"]

#: Friendly names of evaluation texts -> (dataset, configuration).
TEXTS = {
    "wikitext-2": ("wikitext", "wikitext-2-raw-v1"),
    "wikitext-103": ("wikitext", "wikitext-103-raw-v1"),
}


def load_text(source: str | os.PathLike = "wikitext-2", *, split: str = "test",
              cache_dir: str | os.PathLike | None = None) -> str:
    """The text of a data set split, its lines joined by newlines.

    Parameters
    ----------
    source : str or path
        A name of :data:`TEXTS`, ``dataset:config`` on the hub, or a local text file (read by the
        ``datasets`` ``text`` builder, one example per line).
    split : str
        Split of a hub data set (a local file is the ``train`` split of its builder).
    cache_dir : path, optional
        ``datasets`` cache folder.
    """
    try:
        import datasets
    except ImportError:
        raise IsingNNError("perplexity on a text data set needs the package datasets "
                           "(pip install 'ising-nn[hub]' or pip install datasets)") from None
    kw = {"cache_dir": str(cache_dir)} if cache_dir is not None else {}
    p = Path(os.fspath(source)).expanduser()
    try:
        if p.is_file():
            ds = datasets.load_dataset("text", data_files=str(p), split="train", **kw)
        else:
            s = os.fspath(source)
            name, config = TEXTS.get(s, tuple(s.split(":", 1)) if ":" in s else (s, None))
            ds = datasets.load_dataset(name, config, split=split, **kw)
    except Exception as exc:  # network, missing data set, bad split: all end here with the cause named
        raise IsingNNError(f"cannot load text {os.fspath(source)!r} ({type(exc).__name__}: {exc}); pass a "
                           f"local text file or one of {', '.join(TEXTS)} with the hub reachable") from None
    if "text" not in ds.column_names:
        raise IsingNNError(
            f"data set {os.fspath(source)!r} has no 'text' column (columns: {ds.column_names})")
    return "\n".join(ds["text"])


def load_lm(spec: str | os.PathLike):
    """``(model, tokenizer)`` of a causal LM: a local folder, an alias (``gpt2``, ``opt-125m``) or a hub id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    s = os.fspath(spec)
    where = s if Path(s).expanduser().exists() else (resolve_hub_name(s) or s)
    try:
        tok = AutoTokenizer.from_pretrained(where)
        model = AutoModelForCausalLM.from_pretrained(where)
    except (OSError, ValueError) as exc:
        raise IsingNNError(f"cannot load the language model {s!r} ({type(exc).__name__}); pass a local "
                           "save_pretrained folder, or a hub name with the hub reachable") from None
    return model.eval(), tok


def _tokenize(tok, text: str, max_tokens: int | None) -> np.ndarray:
    if max_tokens is not None:
        text = text[: 20 * max_tokens]  # bounds the tokenizer's work; the ids are cut exactly below
    ids = np.asarray(tok(text)["input_ids"], dtype=np.int64)
    return ids[:max_tokens] if max_tokens is not None else ids


def hub_perplexity(spec, text="wikitext-2", *, context: int | None = None, max_tokens: int | None = None,
                   cache_dir=None) -> Metric:
    """Perplexity of a causal LM (see :func:`load_lm`) on a text (see :func:`load_text`)."""
    model, tok = load_lm(spec)
    ids = _tokenize(tok, load_text(text, cache_dir=cache_dir), max_tokens)
    return perplexity(model, ids, context=context)


def hub_shuffle_experiment(spec, text="wikitext-2", *, fractions: Sequence[float] = FRACTIONS,
                           seeds: Sequence[int] = (0,), quench: QuenchSettings = DEFAULT_QUENCH,
                           alpha: bool = True, context: int | None = None, max_tokens: int | None = None,
                           dos_dir=None, cache_dir=None, recompute: bool = False,
                           progress: bool = True) -> pd.DataFrame:
    """The shuffle experiment (:func:`~.shuffle_eval.shuffle_experiment`) for a causal LM by name or folder,
    perplexity on ``text``; cached in ``<dos_dir>/quality/shuffle-hub-<name>.csv``."""
    s = os.fspath(spec)
    label = Path(s).name if Path(s).expanduser().exists() else s.replace("/", "_")
    params = {"experiment": "shuffle", "model": s, "text": os.fspath(text),
              "fractions": " ".join(map(str, fractions)), "seeds": " ".join(map(str, seeds)),
              **quench.as_header(), "alpha": alpha, "context": context, "max_tokens": max_tokens}

    def compute() -> pd.DataFrame:
        model, tok = load_lm(spec)
        ids = _tokenize(tok, load_text(text, cache_dir=cache_dir), max_tokens)
        return shuffle_experiment(model, lambda m: perplexity(m, ids, context=context), name=label,
                                  fractions=fractions, seeds=seeds, quench=quench, alpha=alpha,
                                  progress=progress)

    path = quality_dir(dos_dir) / f"shuffle-hub-{label}.csv"
    return cached_table(path, params, compute, recompute=recompute)
