"""One look for every figure: seaborn style, trained and shuffled always in the same colours, E/N on x axes.

Figure builders take the dataclasses of :mod:`ising_nn.paper.series` (and the authors' curves where given) and
return a matplotlib Figure; :func:`savefig` writes it atomically. The notebooks of helper "quality" use
:func:`set_style`, :func:`color` and :func:`shades` too, so a trained network is the same blue everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ising_nn.results.dos import DOS
from ising_nn.results.textfile import atomic_path

__all__ = [
    "set_style", "color", "shades", "COLORS", "E_LABEL", "LNG_LABEL", "plot_dos", "fig_dos", "fig_heat",
    "fig_blocks", "savefig",
]

_PALETTE = sns.color_palette("colorblind")
#: The colour of each kind of network in every figure.
COLORS = {"trained": _PALETTE[0], "shuffled": _PALETTE[1], "published": (0.35, 0.35, 0.35)}
_SEQ = {"trained": "Blues", "shuffled": "Oranges", "published": "Greys"}
E_LABEL = r"$E\,/\,N$"
LNG_LABEL = r"$\ln g(E)\,/\,N$"


def set_style() -> None:
    """seaborn theme shared by all figures."""
    sns.set_theme(context="notebook", style="whitegrid", palette=_PALETTE, font_scale=0.95)


def color(kind: str):
    """Colour of ``"trained"``, ``"shuffled"`` or ``"published"``."""
    return COLORS[kind]


def shades(kind: str, n: int) -> list:
    """``n`` shades of a kind's hue, light to dark (e.g. one per number of blocks or per fraction)."""
    return sns.color_palette(_SEQ[kind], n + 2)[2:]


def plot_dos(ax, dos: DOS, kind: str = "trained", label: str | None = None, n_spins: int | None = None,
             scale: float = 1.0, **kw):
    """ln g / N against E / N (``scale`` multiplies column 2, e.g. ln 10 for a base-10 file)."""
    n = n_spins or dos.n_spins or 1
    kw.setdefault("color", color(kind))
    kw.setdefault("lw", 1.6)
    return ax.plot(dos.E_k / n, dos.ln_g_per_spin_k * scale, label=label or kind, **kw)


def fig_dos(results, published: tuple[DOS, DOS] | None = None):
    """Density of states trained vs shuffled; a second panel against the authors' files when given."""
    set_style()
    ncols = 2 if published else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.9), squeeze=False)
    ax = axes[0, 0]
    for kind in ("trained", "shuffled"):
        d = results.dos(kind)
        plot_dos(ax, d, kind, f"{kind} (W/N = {d.width / d.n_spins:.3g})")
    ax.set(xlabel=E_LABEL, ylabel=LNG_LABEL, title=f"{results.model}: density of states")
    ax.legend(frameon=False, fontsize=8)
    if published:
        ax = axes[0, 1]
        ln10 = np.log(10.0)
        for kind, d in zip(("trained", "shuffled"), published, strict=True):
            plot_dos(ax, results.dos(kind), kind, f"{kind}, this work")
            plot_dos(ax, d, kind, f"{kind}, published (column 2 x ln 10)", scale=ln10, ls="--", lw=1.2)
        ax.set(xlabel=E_LABEL, ylabel=LNG_LABEL, title="against the authors' files")
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def fig_heat(heat, published=None):
    """Physical C(T) per spin, certified (left); C(T) of the densities of states (middle); the paper-style
    curve (right); trained vs shuffled, T_c marked.

    Left: only what is certified. Population annealing where its three tests pass
    (:mod:`ising_nn.paper.criticality`), with its jackknife band, and the canonical engine where its hot and
    cold starts agree; T_c (dotted) with its error (band) where the maximum is located, the temperatures below
    the certified range shaded. Without population annealing, the canonical engine's certified range alone.
    Middle: the Wang-Landau DOS's C(T) (dashed: the DOS alone; thin: the DOS file, joined with MBAR where the
    canonical chains are equilibrated), not certified at low T; without a canonical run, further seeds thin.
    ``published``: optional (trained, shuffled) :class:`~ising_nn.thermo.from_dos.PaperStyleHeat` of the
    authors' files, dashed in the right panel.
    """
    set_style()
    fig, (a, m, b) = plt.subplots(1, 3, figsize=(15, 4.1))
    tops = []
    for kind in ("trained", "shuffled"):
        t, e, cur, cert = heat.physical(kind), heat.tc(kind), heat.canonical(kind), heat.certified(kind)
        tc = f"$T_c$ = {e.Tc:.3g} ± {e.Tc_err:.1g}" if np.isfinite(e.Tc) else "no interior peak"
        lowest = []
        pk = None if heat.answer is None else (
            heat.answer.peak_trained if kind == "trained" else heat.answer.peak_shuffled)
        if cert is not None and cert.certified_t.any():
            k = cert.certified_t
            pa = (tc if pk is None else f"$T_c$ = {pk.Tc:.3g} ± {pk.Tc_err:.1g}" if pk.located else
                  f"$T_c$ < {pk.upper:.3g}" if np.isfinite(pk.upper) else "maximum not resolved")
            a.plot(cert.T_t[k], cert.C_t[k], color=color(kind), label=f"{kind}, population annealing ({pa})")
            a.fill_between(cert.T_t[k], cert.C_t[k] - cert.C_err_t[k], cert.C_t[k] + cert.C_err_t[k],
                           color=color(kind), alpha=0.3, lw=0)
            tops.append(np.max(cert.C_t[k] + cert.C_err_t[k]))
            lowest.append(cert.T_cert)
        if cur is not None:
            t_eq = heat.T_equilibrated(kind)
            k = cur.T_t >= t_eq
            if k.any():
                # without population annealing this is the certified curve and the answer's peak its T_c;
                # beside it, this curve's own unless population annealing located one
                if cert is None and pk is not None:
                    own = (f"$T_c$ = {pk.Tc:.3g} ± {pk.Tc_err:.1g}" if pk.located else
                           f"$T_c$ < {pk.upper:.3g}" if np.isfinite(pk.upper) else "maximum not resolved")
                else:
                    own = (f"largest at its edge, T = {cur.T_t[k][0]:.3g}" if cur.Tc_at_edge else
                           f"$T_c$ = {cur.Tc:.3g} ± {cur.Tc_err:.1g}")
                shown = cert is not None and pk is not None and pk.located  # in population annealing's label
                label = f"{kind}, replica exchange" + ("" if shown else f" ({own})")
                a.plot(cur.T_t[k], cur.C_t[k], color=color(kind), ls="--", lw=1, label=label)
                if cert is None:
                    a.fill_between(cur.T_t[k], cur.C_t[k] - cur.C_err_t[k], cur.C_t[k] + cur.C_err_t[k],
                                   color=color(kind), alpha=0.3, lw=0)
                tops.append(np.max(cur.C_t[k] + cur.C_err_t[k]))
                lowest.append(t_eq)
            wl = heat.wang_landau(kind)
            if wl is not None:
                m.plot(wl.T_k, wl.C_k, color=color(kind), ls="--", lw=1, label=f"{kind}, Wang-Landau DOS")
            m.plot(t.T_k, t.C_k, color=color(kind), lw=0.8, alpha=0.7, label=f"{kind}, joined DOS file")
        else:
            how = f"{len(e.Tc_r)} seeds" if len(e.Tc_r) > 1 else e.method
            m.plot(t.T_k, t.C_k, color=color(kind), label=f"{kind} ($T_c$ = {e.Tc:.3g} ± {e.Tc_err:.1g}, {how})")
            for extra in heat.replicas(kind)[1:]:
                m.plot(extra.T_k, extra.C_k, color=color(kind), lw=0.8, alpha=0.45)
        if lowest and np.isfinite(min(lowest)):
            a.axvspan(t.T_k[0], min(lowest), color=color(kind), alpha=0.06, lw=0)
        if np.isfinite(e.Tc):
            for ax in (a, m):
                ax.axvline(e.Tc, color=color(kind), ls=":", lw=1)
            if np.isfinite(e.Tc_err):
                a.axvspan(e.Tc - e.Tc_err, e.Tc + e.Tc_err, color=color(kind), alpha=0.15, lw=0)
        p = heat.paper(kind)
        b.plot(p.T_k, p.C_k, color=color(kind), label=f"{kind} ($T_c$ = {p.Tc:.3f})")
        b.axvline(p.Tc, color=color(kind), ls=":", lw=1)
    if published:
        for kind, p in zip(("trained", "shuffled"), published, strict=True):
            b.plot(p.T_k, p.C_k, color=color(kind), ls="--", lw=1, alpha=0.8,
                   label=f"{kind}, published files ($T_c$ = {p.Tc:.3f})")
    xl = r"$T$ (couplings' units, $k_B = 1$)"
    a.set(xscale="log", xlabel=xl, ylabel=r"$C(T)\,/\,N$",
          title=f"{heat.model}: certified specific heat per spin (shaded: not certified)")
    m.set(xscale="log", xlabel=xl, ylabel=r"$C(T)\,/\,N$", title="from the densities of states (not certified)")
    if tops:
        a.set_ylim(0, 1.4 * max(tops))
        m.set_ylim(0, 1.6 * max(tops))
        m.set_xlim(a.get_xlim())
    b.set(xlim=(0, 1), xlabel=r"$T$ (energy scaled by $W_\mathrm{trained}$)", ylabel=r"$C(T)$",
          title="paper-style recipe (not the physical C)")
    for ax in (a, m, b):
        ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    return fig


def fig_blocks(bs):
    """Width against the number of blocks k (total and relative, as the paper), and the DOS for each k."""
    set_style()
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 3.9))
    k = bs.k_k
    for kind, W, W0 in (("trained", bs.W_trained_k, bs.W0_trained_k),
                        ("shuffled", bs.W_shuffled_k, bs.W0_shuffled_k)):
        a.plot(k, W, "o-", color=color(kind), label=f"{kind}: DOS width W")
        a.plot(k, W0, "s--", color=color(kind), mfc="none", label=f"{kind}: $2|E_0|$ (ground-state search)")
        b.plot(k / bs.n_blocks, W / W.max(), "o-", color=color(kind), label=kind)
    a.set(xlabel="blocks $k$", ylabel="width $W$ (couplings' units)", title=f"{bs.model}: width against depth")
    a.set_xticks(k)
    b.set(xlabel="$k\\,/\\,L$", ylabel=r"$W\,/\,W_\mathrm{max}$", title="relative width (the paper's axes)")
    for i, kk in enumerate(k):
        for kind, ds, ls in (("trained", bs.trained, "-"), ("shuffled", bs.shuffled, "--")):
            col = shades(kind, len(k))[i]
            plot_dos(c, ds[i], kind, f"k = {kk}" if kind == "trained" else "_nolegend_", color=col, ls=ls,
                     lw=1.2)
    c.set(xlabel=E_LABEL, ylabel=LNG_LABEL, title="DOS per k (solid trained, dashed shuffled)")
    for ax in (a, b, c):
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def savefig(fig, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write ``fig`` as PNG atomically (creating the folder) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
