"""The data-free peer: WeightWatcher's power-law exponent alpha of each weight matrix's eigenvalue spectrum.

``weightwatcher`` (PyPI) fits a power law ``rho(lambda) ~ lambda^-alpha`` to the tail of the empirical
spectral density of ``W^T W`` of every layer; a smaller mean alpha indicates a better-trained network
(Martin & Mahoney). We hand it exactly the weight tensors that form the Ising couplings (per block the
attention projections q, k, v, or GPT-2's fused ``c_attn``, then proj, fc1, fc2), each wrapped as an
``nn.Linear``, so alpha and the Ising quantities see the same matrices; biases, embeddings and heads are
left out of both. The fit is WeightWatcher's default (its own power-law fitter, ``xmin`` by the
Kolmogorov-Smirnov distance).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.quality.weights import coupling_tensors

__all__ = ["AlphaResult", "ww_alpha"]


@dataclass(frozen=True)
class AlphaResult:
    """WeightWatcher alpha of a model.

    Attributes
    ----------
    alpha : float
        Mean of the per-matrix alphas (WeightWatcher's summary ``alpha``); NaN if no matrix was fitted.
    alpha_l : ndarray, shape (n_matrices,)
        Per-matrix alpha (NaN where WeightWatcher skipped a matrix).
    names : tuple of str
        Parameter names, in the order of ``alpha_l``.
    """

    alpha: float
    alpha_l: np.ndarray
    names: tuple[str, ...]


def ww_alpha(model, *, min_evals: int = 8) -> AlphaResult:
    """WeightWatcher alpha of the coupling-forming weight matrices of a Hugging Face transformer.

    Parameters
    ----------
    model : Hugging Face model of a family :func:`ising_nn.model.load.load_couplings` supports
    min_evals : int
        Smallest spectrum WeightWatcher fits (its default, 8).
    """
    try:
        import torch

        # its import prints which SVD backend it found
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import weightwatcher as ww
    except ImportError:
        raise IsingNNError(
            "WeightWatcher alpha needs the package weightwatcher (pip install weightwatcher)") from None

    named = coupling_tensors(model)
    names = [n for n, _ in named]
    tensors = [t for _, t in named]
    layers = []
    for t in tensors:
        w = t.detach().float()
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(w)
        layers.append(lin)
    wrapper = torch.nn.Sequential(*layers)
    ww_log = logging.getLogger("weightwatcher")
    old_level = ww_log.level
    ww_log.setLevel(logging.ERROR)
    try:
        # weightwatcher prints and trips pandas/numpy deprecations that are not ours to fix
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            df = ww.WeightWatcher(model=wrapper).analyze(min_evals=min_evals)
    finally:
        ww_log.setLevel(old_level)
    alpha_l = np.full(len(layers), np.nan)
    if len(df):
        # "name" is the child's name in the Sequential: its index
        ids = df["name"].astype(int).to_numpy()
        ok = (ids >= 0) & (ids < len(layers))
        alpha_l[ids[ok]] = df["alpha"].to_numpy(dtype=float)[ok]
    alpha = float(np.nanmean(alpha_l)) if np.isfinite(alpha_l).any() else float("nan")
    return AlphaResult(alpha, alpha_l, tuple(names))
