"""Task metrics (top-1 accuracy, perplexity) and the paper's task error.

Task error (arXiv:2209.08678, see ``shared/PAPER.md``): for a perplexity, the relative change in percent,
``100 (ppl_f - ppl_0) / ppl_0``; for a top-1 accuracy in percent, the absolute drop in points,
``acc_0 - acc_f``. Both grow as the network gets worse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ising_nn.errors import IsingNNError

__all__ = ["Metric", "top1", "perplexity", "task_error", "quality", "METRICS", "evaluate"]

METRICS = ("top1", "perplexity")


@dataclass(frozen=True)
class Metric:
    """A task metric value.

    Attributes
    ----------
    name : {"top1", "perplexity"}
    value : float
        Top-1 accuracy in percent, or perplexity (per token).
    n : int
        Examples (images) or predicted tokens it was computed on.
    """

    name: str
    value: float
    n: int


def _check_name(name: str) -> str:
    if name not in METRICS:
        raise IsingNNError(f"metric must be one of {', '.join(METRICS)}, got {name!r}")
    return name


def task_error(value, baseline, name: str):
    """Task error of ``value`` relative to ``baseline`` (the unshuffled model), as the paper defines it.

    Parameters
    ----------
    value : float or array
        Metric after shuffling.
    baseline : float
        Metric at f = 0.
    name : {"top1", "perplexity"}
        ``top1``: ``baseline - value`` (points); ``perplexity``: ``100 (value - baseline) / baseline`` (%).
    """
    name = _check_name(name)
    v = np.asarray(value, dtype=np.float64)
    if name == "top1":
        out = baseline - v
    else:
        if not baseline > 0:
            raise IsingNNError(f"a baseline perplexity must be positive, got {baseline}")
        out = 100.0 * (v - baseline) / baseline
    return float(out) if out.ndim == 0 else out


def quality(value, name: str):
    """A 'higher is better' version of a metric for rank correlations: top-1 itself, or ``-ln(ppl)``."""
    name = _check_name(name)
    v = np.asarray(value, dtype=np.float64)
    out = v if name == "top1" else -np.log(v)
    return float(out) if out.ndim == 0 else out


def top1(model, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> Metric:
    """Top-1 accuracy (percent) of an image classifier.

    Parameters
    ----------
    model : torch image-classification model (``pixel_values`` in, ``logits`` out)
    x : ndarray, shape (n, C, H, W), float32
    y : ndarray, shape (n,), int
    """
    import torch

    if len(x) != len(y) or len(y) == 0:
        raise IsingNNError(f"top1 needs as many labels as images (at least one), got {len(x)} and {len(y)}")
    correct = 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            logits = model(pixel_values=torch.as_tensor(x[i : i + batch_size])).logits
            correct += int((logits.argmax(-1).numpy() == np.asarray(y[i : i + batch_size])).sum())
    return Metric("top1", 100.0 * correct / len(y), len(y))


def perplexity(model, ids, context: int | None = None, batch_size: int = 16,
               max_tokens: int | None = None) -> Metric:
    """Perplexity ``exp(mean NLL)`` of a causal LM over token ids, in non-overlapping windows.

    Each window of ``context`` tokens predicts its last ``context - 1`` tokens (the first token of a
    window has no left context and is not scored); a last shorter window is scored too.

    Parameters
    ----------
    model : torch causal LM (``input_ids`` in, ``logits`` out)
    ids : sequence of int, length T
    context : int, optional
        Window length (default: the model's ``n_positions`` / ``max_position_embeddings``).
    max_tokens : int, optional
        Use only the first ``max_tokens`` ids (smoke runs).
    """
    import torch

    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    if max_tokens is not None:
        ids = ids[:max_tokens]
    if context is None:
        cfg = model.config
        context = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None) or 1024
    context = int(context)
    if context < 2 or ids.numel() < 2:
        raise IsingNNError(f"perplexity needs at least 2 tokens and a context of at least 2, got "
                           f"{ids.numel()} tokens and context {context}")
    n_full = ids.numel() // context
    windows = [ids[: n_full * context].view(n_full, context)] if n_full else []
    rest = ids[n_full * context :]
    nll = 0.0
    count = 0
    model.eval()
    with torch.no_grad():
        for w in windows:
            for i in range(0, len(w), batch_size):
                nll_b, n_b = _window_nll(model, w[i : i + batch_size])
                nll += nll_b
                count += n_b
        if rest.numel() >= 2:
            nll_b, n_b = _window_nll(model, rest[None, :])
            nll += nll_b
            count += n_b
    return Metric("perplexity", math.exp(nll / count), count)


def _window_nll(model, batch):
    import torch

    logits = model(input_ids=batch).logits[:, :-1].float()
    target = batch[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                            reduction="sum")
    return float(nll), int(target.numel())


def evaluate(model, task: str, *, data_seed: int = 0, max_tokens: int | None = None) -> Metric:
    """The task metric of one of our trained models on its held-out split."""
    from ising_nn.quality.data import digits_split

    if task == "vit-digits":
        d = digits_split(data_seed)
        return top1(model, d.x_test, d.y_test)
    if task == "gpt2-text":
        ids = _heldout_ids(model, data_seed)
        return perplexity(model, ids, max_tokens=max_tokens)
    raise IsingNNError(f"task must be vit-digits or gpt2-text, got {task!r}")


_IDS_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _heldout_ids(model, data_seed: int) -> np.ndarray:
    """Held-out text as ids of the training vocabulary (rebuilt from the training text: deterministic)."""
    from ising_nn.quality.data import char_tokenizer, text_split

    key = (data_seed, int(model.config.vocab_size))
    if key not in _IDS_CACHE:
        s = text_split(data_seed)
        tok = char_tokenizer(s.train)
        if len(tok) != model.config.vocab_size:
            raise IsingNNError(f"model vocabulary ({model.config.vocab_size}) does not match the text's "
                               f"({len(tok)}); was it trained on gpt2-text with data_seed={data_seed}?")
        _IDS_CACHE[key] = np.asarray(tok(s.heldout)["input_ids"], dtype=np.int64)
    return _IDS_CACHE[key]
