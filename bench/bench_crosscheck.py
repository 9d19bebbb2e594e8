"""Population annealing against replica exchange on a full-size network the criteria were not tuned on
(``make bench-crosscheck``): a randomly initialised BERT of MiniLM's shape (6 blocks, width 384, 16,512
spins; ``transformers.BertConfig``, torch seed 0, saved and loaded back by path), or with ``--config`` a
paper-sized model built from its configuration (:mod:`bench.bench_paper`'s names: ``gpt2`` is 65,280 spins).
Replica exchange with MBAR, and population annealing with R and R/4 replicas per run, over the same range in
the couplings' units (:func:`ising_nn.paper.budget.temperature_range`); the three tests of
:mod:`ising_nn.paper.criticality` at every temperature. Writes ``bench/CROSSCHECK.md`` (``--config NAME``:
``bench/CROSSCHECK_NAME.md``) with machine, date, command and the table."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

PT_SWEEPS, R, RUNS, SWEEPS, TMIN_PA = 400, 512, 4, 5, 2.0


def untuned_bert(folder: str) -> str:
    import torch
    import transformers

    torch.manual_seed(0)
    cfg = transformers.BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                                  intermediate_size=1536, vocab_size=1000)
    transformers.BertModel(cfg).save_pretrained(folder)
    return folder


def _max(z, where) -> str:
    return f"{np.nanmax(z[where]):.2f}" if where.any() and np.isfinite(z[where]).any() else "-"


def _stage(work: str | None, name: str, compute):
    """``compute()``, or its pickled result from an earlier run in ``work`` (None: always computed). The
    samplers' own checkpoints in ``work`` resume a stage cut off midway."""
    import pickle

    if work is None:
        return compute()
    path = Path(work) / f"{name}.pkl"
    if path.exists():
        print(f"{name}: from {path}", file=sys.stderr)
        return pickle.loads(path.read_bytes())
    value = compute()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(value))
    tmp.replace(path)
    return value


def parted(cert, pt, with_C: bool = False, z_max: float = 3.0):
    """Mask over ``cert.T_t``: inside replica exchange's equilibrated range (``pt.header["T_equilibrated"]``),
    population annealing (``cert``, :func:`ising_nn.paper.criticality.certify`) and replica exchange differ by
    more than ``z_max`` errors in U (and in C, ``with_C``), or are not compared there."""
    z = np.fmax(cert.z_pt_t, cert.z_pt_C_t) if with_C else cert.z_pt_t
    return (cert.T_t >= float(pt.header["T_equilibrated"])) & ~(z <= z_max)


def _disagreement(cert, ptn) -> str:
    """Where, within replica exchange's equilibrated range, the two methods' U part (|z| > 3) and which lies
    lower there (in a glassy system the run that found the lower energies is usually the better equilibrated)."""
    from ising_nn.thermo.agreement import interp_lnT as _interp

    bad = np.flatnonzero(parted(cert, ptn))
    if not bad.size:
        return "Their U never differ by more than 3 errors where replica exchange is equilibrated. "
    d = cert.U_t[bad] - _interp(cert.T_t[bad], ptn.curve.T_t, ptn.curve.U_t)
    z = cert.z_pt_t[bad]
    k = int(np.nanargmax(z))
    return (f"Their U differ by more than 3 errors at {bad.size} temperatures, the hottest T = "
            f"{cert.T_t[bad[-1]]:.4g}; population annealing's U is the lower at {int((d < 0).sum())} of them "
            f"(the largest |z|, {z[k]:.1f} at T = {cert.T_t[bad[k]]:.4g}: population annealing minus replica "
            f"exchange {d[k]:+.2e} per spin). ")


def peak_words(p, err, edge: str = "the certified edge") -> str:
    """A :class:`ising_nn.paper.criticality.Peak` in words: the maximum with its error, or the bound."""
    if p.located:
        return f"maximum C = {p.C_max:.4g} at T_c = {p.Tc:.4g} ± {err:.2g}"
    if np.isfinite(p.upper):
        return f"C largest at {edge}, T_c < {p.upper:.4g}"
    return "no maximum within the certified range"


def _peak(kind: str, cert) -> str:
    """Where ``cert``'s certified C(T) has its maximum, in words (:func:`ising_nn.paper.criticality.fit_peak`)."""
    from ising_nn.paper.criticality import fit_peak

    if not np.isfinite(cert.T_cert):
        return f"{kind}: not certified at any temperature run"
    p = fit_peak(cert.T_t, cert.C_t, cert.C_jk_mt, cert.T_cert)
    if p.located and not np.isfinite(p.Tc_err):
        return (f"{kind}: {peak_words(p, p.Tc_syst)} (the fit windows' spread alone: no per-run replicates)")
    return f"{kind}: {peak_words(p, p.Tc_err, f'the certified edge T = {cert.T_cert:.4g}')}"


def _against_shuffle(c, pt, pt_shuffled) -> list[str]:
    """The network against its whole-network shuffle (seed 0), both by replica exchange: C's maximum of each
    (:func:`bench.bench_shuffles.re_peak`) and the one-sided test of the difference."""
    import ising_nn as isn
    from bench.bench_shuffles import re_peak, scale_spread, versus

    out = []
    res = {}
    for name, net, r in (("as built", c, pt), ("shuffled across the network", isn.shuffle(c, 1.0, seed=0),
                                                 pt_shuffled)):
        cert, p, err = re_peak(SimpleNamespace(curve=r.curve, header={"T_equilibrated": str(r.T_equilibrated)}))
        res[name] = (p, err)
        out.append(f"- {name}: scale spread {scale_spread(net):.3f} (standard deviation over matrices of "
                   f"ln sqrt(mean J^2)); replica exchange certified down to T = {cert.T_cert:.4g}; "
                   f"{peak_words(p, err)}")
    (a, ea), (b, eb) = res.values()
    out.append(f"- {versus('T_c as built', a, ea, 'shuffled', b, eb)}; errors: the engine's bootstrap of the grid "
               "maximum and the fit windows' spread")
    return out


def main(out: str = "bench/CROSSCHECK.md", config: str | None = None, replicas: int = R, runs_: int = RUNS,
         pt_sweeps: int = PT_SWEEPS, work: str | None = None, shuffled: bool = False) -> None:
    import ising_nn as isn
    from ising_nn.canonical.chain import resolve_precision
    from ising_nn.paper.budget import REFERENCE_SCALE, budget, temperature_range
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certify, certify_canonical, compare_at
    from ising_nn.paper.population import CachedPopulation

    with tempfile.TemporaryDirectory() as tmp:
        if config is None:
            c = isn.load_couplings(untuned_bert(os.path.join(tmp, "bert")))
            network = ("BertModel(BertConfig(hidden_size=384, num_hidden_layers=6, intermediate_size=1536)), torch "
                       "seed 0, random initialisation")
        else:
            from bench.bench_paper import build

            build(config, Path(tmp) / config)
            c = isn.load_couplings(str(Path(tmp) / config))
            network = f"{config} built from its configuration (`bench.bench_paper.build`: torch seed 0, random weights)"
    scale = float(np.sqrt(c.sum_J2 / c.n_spins))
    tmin, tmax = temperature_range(budget(), scale)
    f = scale / REFERENCE_SCALE
    if work is not None:
        os.makedirs(work, exist_ok=True)

    def ckpt(name):
        # replica exchange checkpoints to a file, population annealing to a folder of its runs
        if work is None:
            return {}
        path = Path(work) / name
        return dict(checkpoint=path, resume=path.exists())

    def run_pt(net=c, name="pt"):
        t = time.perf_counter()
        q = isn.quench(net, "anneal", seed=0, restarts=16)
        r = isn.canonical_thermo(net, tmin=tmin, tmax=tmax, sweeps=pt_sweeps, seed=0, cold_spins=q.spins,
                                 progress=True, **ckpt(f"{name}.npz"))
        return SimpleNamespace(curve=r.curve, T_equilibrated=r.T_equilibrated, rungs=len(r.rungs.beta_k),
                               seconds=time.perf_counter() - t)

    pt = _stage(work, "pt", run_pt)
    t_pt = pt.seconds
    runs = {}
    for name, pop in (("R", replicas), ("R/4", replicas // 4)):
        def run_pa(name=name, pop=pop):
            t = time.perf_counter()
            r = isn.population_annealing(c, tmin=TMIN_PA * f, tmax=tmax, population=pop, runs=runs_, sweeps=SWEEPS,
                                         seed=0, progress=True, **ckpt(f"pa_{pop}_runs"))
            return CachedPopulation.from_result(r), time.perf_counter() - t

        runs[name] = _stage(work, f"pa_{pop}", run_pa)
    pt_shuffled = None
    if shuffled:
        pt_shuffled = _stage(work, "pt_shuffled", lambda: run_pt(isn.shuffle(c, 1.0, seed=0), "pt_shuffled"))
    ptn = SimpleNamespace(curve=pt.curve, header={"T_equilibrated": str(pt.T_equilibrated)})
    cert = certify(runs["R"][0], runs["R/4"][0], ptn)
    both = (cert.T_t >= pt.T_equilibrated) & cert.certified_t
    pt_only = (cert.T_t >= pt.T_equilibrated) & ~cert.certified_t
    temps = [x * f for x in (2, 3, 4, 5, 6, 8)]
    df = compare_at(temps, cert, ptn)
    command = "`make bench-crosscheck`"
    if (config, replicas, runs_, pt_sweeps, shuffled) != (None, R, RUNS, PT_SWEEPS, False):
        command = (f"`python -m bench.bench_crosscheck{f' --config {config}' if config else ''} --replicas {replicas} "
                   f"--runs {runs_} --pt-sweeps {pt_sweeps}{' --shuffled' if shuffled else ''}`")
    seconds = t_pt + runs["R"][1] + runs["R/4"][1]  # the stages' own times, also when a rerun read them back
    lines = [
        "# Population annealing against replica exchange, untuned network",
        "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; command: {command} ({seconds:.0f} s)",
        f"- network: {network}; {c.n_spins} spins, sqrt(sum J^2 / N) = {scale:.4g} "
        f"(temperatures below are in these couplings' units; MiniLM's range times {f:.4g})",
        f"- fields: {resolve_precision('auto')} (`precision=\"auto\"` on this machine), both methods",
        f"- replica exchange: {pt_sweeps} sweeps, T in [{tmin:g}, {tmax:g}], {pt.rungs} rungs, hot and "
        f"cold starts agree down to T = {pt.T_equilibrated:.4g}; {t_pt:.0f} s",
        f"- population annealing: {runs_} runs of R = {replicas} (and of R/4 = {replicas // 4}), {SWEEPS} sweeps "
        f"per step, "
        f"T >= {TMIN_PA * f:.4g}; {runs['R'][1]:.0f} s and {runs['R/4'][1]:.0f} s",
        "",
        (f"Where both methods certify themselves (T >= {max(pt.T_equilibrated, cert.T_cert):.4g}, "
         f"{int(both.sum())} temperatures of the schedule): largest |z| of population annealing against replica "
         f"exchange {_max(cert.z_pt_t, both)} for U and {_max(cert.z_pt_C_t, both)} for C (both decide); against "
         f"R/4 {_max(cert.z_check_t, both)} (U and C). " if both.any() else
         "There is no temperature where both methods certify themselves. ") +
        f"Where only replica exchange is equilibrated "
        f"({int(pt_only.sum())} temperatures): {_max(cert.z_pt_t, pt_only)} for U, {_max(cert.z_pt_C_t, pt_only)} "
        f"for C, {_max(cert.z_check_t, pt_only)} against R/4.",
        _disagreement(cert, ptn) +
        "Population annealing certifies itself (families criterion, R against R/4, replica exchange where " +
        (f"equilibrated) down to T = {cert.T_cert:.4g}" if np.isfinite(cert.T_cert) else
         "equilibrated) at no temperature run") + (f" (first failing: {cert.failed})" if cert.failed else "") + ".",
        f"C(T)'s maximum. {_peak('Population annealing', cert)}. {_peak('Replica exchange', certify_canonical(ptn))}. "
        f"Cost, wall time times {os.cpu_count()} cores: replica exchange {t_pt * os.cpu_count() / 3600:.3g} "
        f"core-hours, population annealing {runs['R'][1] * os.cpu_count() / 3600:.3g} (R) and "
        f"{runs['R/4'][1] * os.cpu_count() / 3600:.3g} (R/4).",
        "",
        markdown_table(df, 5),
        "",
    ]
    if pt_shuffled is not None:
        lines += [f"## Against its whole-network shuffle (replica exchange, {pt_shuffled.rungs} rungs, "
                  f"{pt_shuffled.seconds:.0f} s = {pt_shuffled.seconds * os.cpu_count() / 3600:.3g} core-hours)", "",
                  *_against_shuffle(c, pt, pt_shuffled), ""]
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="a paper-sized model built from its configuration (bench.bench_paper's names)")
    ap.add_argument("--replicas", type=int, default=R, help=f"population annealing's R per run (default {R})")
    ap.add_argument("--runs", type=int, default=RUNS, help=f"independent runs of R and of R/4 (default {RUNS})")
    ap.add_argument("--pt-sweeps", type=int, default=PT_SWEEPS, help=f"replica exchange's sweeps ({PT_SWEEPS})")
    ap.add_argument("--shuffled", action="store_true",
                    help="also replica exchange on the whole-network shuffle (seed 0), and the test of T_c against it")
    ap.add_argument("--work", help="a folder for checkpoints and finished stages: a rerun resumes from them")
    a = ap.parse_args()
    main(f"bench/CROSSCHECK_{a.config}.md" if a.config else "bench/CROSSCHECK.md", a.config, a.replicas, a.runs,
         a.pt_sweeps, a.work, a.shuffled)
