"""The quality study: deterministic training, the shuffle written back into the model, task errors,
Spearman with bootstrap intervals, WeightWatcher alpha, the hub path, cached tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.model.load import load_couplings
from ising_nn.model.transforms import shuffle
from ising_nn.quality import (
    QuenchSettings,
    TrainConfig,
    cached_table,
    correlation_table,
    evaluate,
    ladder_experiment,
    perplexity,
    quality,
    read_table,
    set_weight_pool,
    shuffle_experiment,
    shuffle_model,
    spearman_ci,
    summary_paragraph,
    task_error,
    top1,
    train,
    weight_pool,
)
from ising_nn.quality.correlate import Correlation, verdict
from ising_nn.quality.data import char_tokenizer, digits_split, text_split
from ising_nn.quality.weights import coupling_tensors

TINY_QUENCH = QuenchSettings(restarts=2, sweeps=10)


def tiny_config(task: str, seed: int = 0) -> TrainConfig:
    return TrainConfig(task, width=16, blocks=2, heads=2, steps=6, batch_size=8, checkpoints=3, seed=seed,
                       context=32)


@pytest.fixture(scope="module")
def ladders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {t: train(tiny_config(t), root, progress=False) for t in ("vit-digits", "gpt2-text")}


def _tensors(folder):
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


# ------------------------------------------------------------------------------------------ data
def test_splits_are_seeded_and_disjoint():
    a, b = digits_split(0), digits_split(0)
    assert np.array_equal(a.x_test, b.x_test) and len(a.y_train) + len(a.y_test) == 1797
    assert not np.array_equal(digits_split(1).y_test, a.y_test)
    s = text_split(0)
    assert s.heldout_topics == text_split(0).heldout_topics
    assert 0.1 <= len(s.heldout) / (len(s.heldout) + len(s.train)) < 0.3
    tok = char_tokenizer("ab\n")
    # every character is one token; unseen characters map to the unknown token (id 0)
    assert tok("ba\nz")["input_ids"] == [3, 2, 1, 0]  # vocabulary: unknown, "\n", "a", "b"


# ------------------------------------------------------------------------------------------ training
@pytest.mark.parametrize("task", ["vit-digits", "gpt2-text"])
def test_training_is_deterministic_and_cached(task, ladders, tmp_path):
    lad = ladders[task]
    assert lad.steps == (0, 1, 6) and all((lad.path(s) / "model.safetensors").is_file() for s in lad.steps)
    again = train(tiny_config(task), tmp_path, progress=False)
    for s in lad.steps:
        t1, t2 = _tensors(lad.path(s)), _tensors(again.path(s))
        assert t1.keys() == t2.keys()
        assert all(np.array_equal(t1[k], t2[k]) for k in t1)
    # the last checkpoint moved away from the initialisation
    first, last = _tensors(lad.path(0)), _tensors(lad.path(6))
    assert any(not np.array_equal(first[k], last[k]) for k in first)
    # a different seed gives different weights
    other = train(tiny_config(task, seed=1), tmp_path, progress=False)
    w0, w1 = _tensors(lad.path(6)), _tensors(other.path(6))
    assert any(not np.array_equal(w0[k], w1[k]) for k in w0)
    # the cache: the same configuration is loaded, not retrained
    cached = train(tiny_config(task), tmp_path, progress=False)
    assert cached.seconds == again.seconds and cached.folder == again.folder


def test_train_config_validation():
    with pytest.raises(IsingNNError, match="task must be"):
        TrainConfig("resnet")
    with pytest.raises(IsingNNError, match="divisible"):
        TrainConfig("vit-digits", width=10, heads=4)
    steps = TrainConfig("gpt2-text", steps=1500, checkpoints=10).checkpoint_steps()
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 1500 and list(steps) == sorted(set(steps))


# ------------------------------------------------------------------------------------------ metrics
def test_task_error_by_hand():
    assert task_error(85.5, 90.0, "top1") == pytest.approx(4.5)
    assert task_error(25.0, 20.0, "perplexity") == pytest.approx(25.0)
    assert task_error(10.0, 20.0, "perplexity") == pytest.approx(-50.0)
    # the paper's gpt2 / wikitext-103 point at f = 0.2: 29.9448 -> 38.7369 is +29.361 %
    assert task_error(38.7369, 29.9448, "perplexity") == pytest.approx(29.3610, abs=1e-4)
    assert np.allclose(task_error(np.array([79.44, 78.93]), 79.44, "top1"), [0.0, 0.51])
    assert quality(np.e**2, "perplexity") == pytest.approx(-2.0) and quality(90.0, "top1") == 90.0
    with pytest.raises(IsingNNError, match="metric must be"):
        task_error(1.0, 1.0, "bleu")


class _Uniform(torch.nn.Module):
    """A stand-in LM with equal logits for every token: its perplexity is exactly the vocabulary size."""

    class config:  # noqa: N801 - mimics a transformers config attribute
        n_positions = 8

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab

    def forward(self, input_ids):
        return type("Out", (), {"logits": torch.zeros(*input_ids.shape, self.vocab)})


class _Oracle(torch.nn.Module):
    """A stand-in classifier whose prediction is the first pixel, as an integer class."""

    def forward(self, pixel_values):
        cls = pixel_values[:, 0, 0, 0].long()
        return type("Out", (), {"logits": torch.nn.functional.one_hot(cls, 10).float()})


def test_perplexity_and_top1_by_hand():
    ppl = perplexity(_Uniform(7), np.arange(21) % 7, batch_size=2)
    assert ppl.value == pytest.approx(7.0) and ppl.name == "perplexity"
    # 21 tokens in windows of 8: 8 + 8 + 5 tokens, each window scores all but its first token
    assert ppl.n == 7 + 7 + 4
    x = np.zeros((4, 1, 8, 8), np.float32)
    x[:, 0, 0, 0] = [1, 2, 3, 4]
    acc = top1(_Oracle(), x, np.array([1, 2, 0, 4]), batch_size=3)
    assert acc.value == pytest.approx(75.0) and acc.n == 4


# ------------------------------------------------------------------------------------------ shuffle
@pytest.mark.parametrize("task", ["vit-digits", "gpt2-text"])
def test_shuffle_write_back(task, ladders):
    model = ladders[task].load()
    pool = weight_pool(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    coupling_names = {n for n, _ in coupling_tensors(model)}

    same = shuffle_model(model, 0.0, seed=3)
    assert all(torch.equal(v, same.state_dict()[k]) for k, v in state.items())

    for f, seed in [(0.3, 1), (1.0, 2)]:
        m = shuffle_model(model, f, seed=seed)
        # the documented semantics: the pooled weights are transforms.shuffle of the pool, exactly
        want = shuffle(Couplings(pool.copy(), (1, pool.size)), f, seed=seed).buffer
        got = weight_pool(m)
        assert np.array_equal(got, want)
        assert np.array_equal(np.sort(got), np.sort(pool))  # a permutation: the values are kept
        moved = np.mean(got != pool)
        assert moved > 0.5 * f
        sd = m.state_dict()
        for k, v in state.items():  # everything that is not a coupling is untouched
            if k not in coupling_names:
                assert torch.equal(v, sd[k]), k
        # the original model is not changed
        assert np.array_equal(weight_pool(model), pool)


def test_shuffled_couplings_are_the_mapping_of_the_shuffled_weights(ladders):
    """ViT (separate nn.Linear q, k, v): the couplings of the shuffled model are qkv = (Wq + Wk + Wv)^T,
    proj/fc1/fc2 transposed, built from the shuffled individual weights."""
    m = shuffle_model(ladders["vit-digits"].load(), 0.5, seed=7)
    c = load_couplings(m)
    p = dict(m.named_parameters())
    for b in range(2):
        pre = f"vit.layers.{b}."
        W = {r: p[pre + n].detach().numpy() for r, n in [
            ("q", "attention.q_proj.weight"), ("k", "attention.k_proj.weight"), ("v", "attention.v_proj.weight"),
            ("proj", "attention.o_proj.weight"), ("fc1", "mlp.fc1.weight"), ("fc2", "mlp.fc2.weight")]}
        J = c.J[4 * b : 4 * b + 4]
        np.testing.assert_allclose(J[0], (W["q"] + W["k"] + W["v"]).T, rtol=1e-6, atol=1e-7)
        for j, r in zip(J[1:], ("proj", "fc1", "fc2"), strict=True):
            assert np.array_equal(j, W[r].T)


def test_set_weight_pool_round_trip_and_errors(ladders):
    m = shuffle_model(ladders["gpt2-text"].load(), 0.0)
    pool = weight_pool(m)
    set_weight_pool(m, pool[::-1].copy())
    assert np.array_equal(weight_pool(m), pool[::-1])
    with pytest.raises(IsingNNError, match="weight pool must have shape"):
        set_weight_pool(m, pool[:-1])
    with pytest.raises(IsingNNError, match="fraction"):
        shuffle_model(m, 1.5)


@pytest.mark.parametrize("task", ["vit-digits", "gpt2-text"])
def test_shuffle_experiment_rows(task, ladders):
    model = ladders[task].load()
    metric = lambda m: evaluate(m, task, max_tokens=300)  # noqa: E731
    base = metric(model)
    df = shuffle_experiment(model, metric, name=task, fractions=(0.0, 1.0), seeds=(0, 1),
                            quench=TINY_QUENCH, alpha=False, progress=False)
    assert list(df.fraction) == [0.0, 0.0, 1.0, 1.0] and list(df.seed) == [0, 1, 0, 1]
    f0 = df[df.fraction == 0]
    # metrics at f = 0 equal the unshuffled model's, and the task error there is 0
    assert (f0.metric == base.value).all() and (f0.task_error == 0).all()
    assert np.allclose(df.task_error, task_error(df.metric.to_numpy(), base.value, base.name))
    c = load_couplings(model)
    assert (df.n_spins == c.n_spins).all()
    assert np.allclose(df.W_per_spin, -2 * df.E0_per_spin) and (df.W_per_spin > 0).all()
    assert np.isnan(df.alpha).all() and np.isnan(df.W_wl_per_spin).all()


def test_ladder_experiment(ladders):
    df = ladder_experiment(ladders["gpt2-text"], quench=TINY_QUENCH, alpha=True, max_tokens=300,
                           progress=False)
    assert list(df.step) == [0, 1, 6]
    assert np.isfinite(df[["metric", "quality", "E0_per_spin", "W_per_spin", "W_per_spin_rms"]]).all().all()
    assert np.allclose(df.quality, -np.log(df.metric))


def test_wang_landau_width_column():
    """With a Wang-Landau budget the point carries a DOS width; it cannot exceed the exact span 2|E_0|
    by more than a bin (the exact E_0 by enumeration of 2^10 states)."""
    import itertools

    from ising_nn.quality import ising_point

    rng = np.random.default_rng(0)
    c = Couplings.from_matrices([rng.normal(size=(3, 4)).astype(np.float32),
                                 rng.normal(size=(4, 3)).astype(np.float32)])
    E = c.energy(np.array(list(itertools.product([-1, 1], repeat=c.n_spins))))
    p = ising_point(c, QuenchSettings(restarts=4, sweeps=20, wl_time_limit=1.0))
    assert p.E0 == pytest.approx(E.min(), abs=1e-4)  # the quench finds the ground state of 10 spins
    assert 0 < p.W_wl_per_spin * c.n_spins <= 2 * abs(E.min()) + 1.0


def test_run_quality_replots_without_training(tmp_path):
    """The second run finds every table cached and trains nothing (a fresh models folder stays empty)."""
    from ising_nn.quality import run_quality

    kw = {"smoke": True, "tasks": ("gpt2-text",), "dos_dir": tmp_path / "dos", "fractions": (0.0, 1.0),
          "seeds": (0,), "quench": TINY_QUENCH, "alpha": False, "max_tokens": 300, "n_boot": 200,
          "progress": False}
    first = run_quality(models_dir=tmp_path / "m1", **kw)
    assert any((tmp_path / "m1").iterdir())
    second = run_quality(models_dir=tmp_path / "m2", **kw)
    assert not (tmp_path / "m2").exists() or not any((tmp_path / "m2").iterdir())
    pd.testing.assert_frame_equal(first.shuffle["gpt2-text"], second.shuffle["gpt2-text"])
    assert second.train_seconds["gpt2-text"] == first.train_seconds["gpt2-text"] > 0
    t, head = read_table(tmp_path / "dos" / "quality" / "correlations.csv")
    assert set(t.quantity) == {"W_per_spin", "E0_per_spin", "W_per_spin_rms", "alpha"}
    assert list(t.experiment.unique()) == ["shuffle", "training", "pooled"]
    pooled = t[(t.experiment == "pooled") & (t.quantity == "W_per_spin")]
    assert int(pooled.n.iloc[0]) == len(first.shuffle["gpt2-text"]) + len(first.ladder["gpt2-text"])
    assert head["smoke"] == "True" and (tmp_path / "dos" / "quality" / "correlations.md").is_file()


def test_sweep_quality_task_writes_what_the_notebooks_read(tmp_path):
    """The figures' sweep computes the quality tables (one task per model) with the notebooks' inputs: the
    fraction / accuracy / ladder notebooks' smoke call then finds them cached and trains nothing."""
    from ising_nn.paper.budget import SMOKE_BUDGET
    from ising_nn.paper.sweep import Task, figure_tasks, run_task
    from ising_nn.quality import run_quality
    from ising_nn.quality.report import SMOKE_FRACTIONS, SMOKE_QUENCH

    assert figure_tasks([], SMOKE_BUDGET, quality=("vit-digits", "gpt2-text")) == [
        Task("quality", "gpt2-text"), Task("quality", "vit-digits")]
    dos = tmp_path / "dos"
    run_task(Task("quality", "vit-digits"), SMOKE_BUDGET, str(dos), 1)
    assert any((dos / "models").iterdir()) and any((dos / "quality").glob("shuffle-vit-digits-*.csv"))
    # notebooks/fraction.ipynb's setup cell with smoke = True, but a fresh models folder
    quench = QuenchSettings(SMOKE_QUENCH.method, SMOKE_QUENCH.restarts, SMOKE_QUENCH.sweeps,
                            SMOKE_QUENCH.time_limit, None)
    res = run_quality(smoke=True, tasks=("vit-digits",), models_dir=tmp_path / "fresh", dos_dir=dos,
                      fractions=SMOKE_FRACTIONS, seeds=[0, 1, 2, 3, 4][:1], train_seed=0, quench=quench,
                      n_boot=200, progress=False)
    assert not (tmp_path / "fresh").exists() or not any((tmp_path / "fresh").iterdir())
    assert len(res.shuffle["vit-digits"]) == len(SMOKE_FRACTIONS)
    with pytest.raises(IsingNNError, match="quality task must be one of"):
        run_task(Task("quality", "minilm"), SMOKE_BUDGET, str(dos), 1)


# ------------------------------------------------------------------------------------------ correlations
def test_spearman_monotone_and_reversed():
    x = np.random.default_rng(0).normal(size=25)
    c = spearman_ci(x, np.exp(3 * x), n_boot=500)
    assert c.rho == 1.0 and c.low == 1.0 and c.high == 1.0 and c.n == 25
    c = spearman_ci(x, -(x**3), n_boot=500)
    assert c.rho == -1.0 and c.high == -1.0
    assert verdict(spearman_ci(x, np.exp(x)), +1) == "holds"
    assert verdict(spearman_ci(x, np.exp(x)), -1) == "contradicted"


def test_spearman_matches_scipy_and_drops_nan():
    from scipy import stats

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=40), rng.normal(size=40)
    y = y + x
    assert spearman_ci(x, y).rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    xn = np.append(x, np.nan)
    yn = np.append(y, 5.0)
    c = spearman_ci(xn, yn)
    assert c.n == 40 and c.rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    const = spearman_ci(x, np.ones_like(x))
    assert math.isnan(const.rho) and verdict(const, 1) == "undefined"
    with pytest.raises(IsingNNError, match="same length"):
        spearman_ci(x, y[:-1])


def test_bootstrap_interval_covers_zero_for_independent_data():
    """For independent pairs the 95 % interval covers 0 in about 95 % of data sets: with 60 data sets,
    fewer than 49 covering has probability < 1e-3 under nominal coverage (binomial), so the test fails
    only if the interval is biased."""
    covered = 0
    for seed in range(60):
        rng = np.random.default_rng(100 + seed)
        c = spearman_ci(rng.normal(size=40), rng.normal(size=40), n_boot=1000, seed=seed)
        covered += c.low <= 0 <= c.high
    assert covered >= 49


def test_correlation_table_and_summary():
    rng = np.random.default_rng(2)
    q = np.linspace(0, 1, 20)
    good = pd.DataFrame({"quality": q, "W_per_spin": q**2, "E0_per_spin": -(q**2), "alpha": rng.normal(size=20)})
    bad = pd.DataFrame({"quality": q, "W_per_spin": -q, "E0_per_spin": q})
    t = correlation_table({("A", "shuffle"): good, ("B", "training"): bad}, n_boot=300)
    v = {(r.model, r.quantity): r.verdict for r in t.itertuples()}
    assert v[("A", "W_per_spin")] == "holds" and v[("A", "E0_per_spin")] == "holds"
    assert v[("B", "W_per_spin")] == "contradicted" and ("B", "alpha") not in v
    text = summary_paragraph(t)
    assert "held in 1 of 2 tests" in text and "contradicted in 1" in text
    assert "A under shuffling" in text and "B along training" in text and "very strong" in text
    sh = pd.DataFrame({"fraction": [0.0, 1.0], "W_per_spin": [2.0, 0.8], "metric": [90.0, 10.0]})
    lad = pd.DataFrame({"step": [5, 0], "W_per_spin": [2.0, 0.4], "metric": [90.0, 11.0],
                        "metric_name": ["top1", "top1"]})
    text = summary_paragraph(t, {("A", "shuffle"): sh, ("A", "training"): lad})
    assert "for A the untrained network (top-1 11) has W/N = 0.4 and the fully shuffled trained one " \
           "(top-1 10) W/N = 0.8" in text


def test_verdict_needs_a_small_p_value():
    # an interval that excludes 0 but a p-value that does not reject: heavily tied data
    assert verdict(Correlation(0.45, 0.45, 0.72, 0.11, 14, 0.95, 300), 1) == "inconclusive"
    assert verdict(Correlation(0.45, 0.2, 0.72, 0.01, 14, 0.95, 2000), 1) == "holds"


# ------------------------------------------------------------------------------------------ peer
def test_weightwatcher_alpha_reads_each_matrix():
    """Matrices built with power-law spectra of known exponent: WeightWatcher's per-matrix alpha follows
    them, in the order of the coupling tensors."""
    from transformers import ViTConfig, ViTForImageClassification

    from ising_nn.quality.peer import ww_alpha

    torch.manual_seed(0)
    m = ViTForImageClassification(ViTConfig(image_size=8, patch_size=2, num_channels=1, hidden_size=64,
                                            num_hidden_layers=2, num_attention_heads=4,
                                            intermediate_size=256, num_labels=10))
    rng = np.random.default_rng(0)
    targets = []
    with torch.no_grad():
        for i, (_, p) in enumerate(coupling_tensors(m)):
            a = 2.5 if i % 2 == 0 else 4.5
            n = min(p.shape)
            lam = (1 - rng.random(n)) ** (-1 / (a - 1))  # eigenvalues with density ~ lambda^-a
            U, _ = np.linalg.qr(rng.normal(size=(p.shape[0], n)))
            V, _ = np.linalg.qr(rng.normal(size=(p.shape[1], n)))
            p.copy_(torch.tensor((U * np.sqrt(lam)) @ V.T, dtype=torch.float32))
            targets.append(a)
    r = ww_alpha(m)
    assert len(r.alpha_l) == 12 and np.isfinite(r.alpha_l).all()
    even, odd = r.alpha_l[::2], r.alpha_l[1::2]
    assert even.max() < odd.min()
    assert abs(np.median(even) - 2.5) < 0.5
    assert r.alpha == pytest.approx(np.mean(r.alpha_l))


# ------------------------------------------------------------------------------------------ tables
def test_cached_table(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"a": [1.5, 2.5]})

    p = tmp_path / "q" / "t.csv"
    df = cached_table(p, {"model": "m", "seed": 0}, compute)
    df2 = cached_table(p, {"model": "m", "seed": 0}, compute)
    assert len(calls) == 1 and df.equals(df2)
    cached_table(p, {"model": "m", "seed": 1}, compute)
    assert len(calls) == 2
    t, head = read_table(p)
    assert head["seed"] == "1" and head["model"] == "m" and "version" in head
    assert list(t.a) == [1.5, 2.5]


# ------------------------------------------------------------------------------------------ hub path
def test_hub_path_on_a_local_model_and_text(tmp_path):
    pytest.importorskip("datasets")
    from transformers import GPT2Config, GPT2LMHeadModel

    from ising_nn.quality.hub import hub_perplexity, hub_shuffle_experiment, load_lm, load_text

    text = "the quick brown fox jumps over the lazy dog\nand the dog sleeps\n\nthe end\n"
    f = tmp_path / "tiny.txt"
    f.write_text(text)
    tok = char_tokenizer(text)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=16, n_embd=16, n_layer=2, n_head=2,
                                       bos_token_id=None, eos_token_id=None))
    folder = tmp_path / "tiny-gpt2"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)

    cache = tmp_path / "hf-cache"
    got = load_text(f, cache_dir=cache)
    assert got == "\n".join(text.splitlines())
    ppl = hub_perplexity(folder, f, cache_dir=cache)
    want = perplexity(model.eval(), tok(got)["input_ids"])
    assert ppl.value == pytest.approx(want.value, rel=1e-6) and ppl.n == want.n

    df = hub_shuffle_experiment(folder, f, fractions=(0.0, 1.0), seeds=(0,), quench=TINY_QUENCH, alpha=False,
                                dos_dir=tmp_path / "dos", cache_dir=cache, progress=False)
    assert list(df.fraction) == [0.0, 1.0] and df.task_error.iloc[0] == 0.0
    assert df.metric.iloc[0] == pytest.approx(want.value, rel=1e-6)
    assert (tmp_path / "dos" / "quality" / "shuffle-hub-tiny-gpt2.csv").is_file()

    with pytest.raises(IsingNNError, match="cannot load the language model"):
        load_lm(tmp_path / "missing-model")
    with pytest.raises(IsingNNError, match="cannot load text"):
        load_text("no-such-dataset-here", cache_dir=cache)


# ------------------------------------------------------------------------------------------ paper files
def test_paper_files_read_as_published():
    """The authors' accuracy and fraction files, against the numbers quoted in shared/PAPER.md."""
    from ising_nn.paper.paths import paper_data_dir
    from ising_nn.quality.plots import paper_accuracy, paper_fraction_widths

    root = paper_data_dir()
    if root is None:
        pytest.skip("the authors' files are not here")
    acc = paper_accuracy(root)
    vit = acc[(acc.model == "vit-base") & (acc.task == "imagenet")].set_index("fraction")
    assert vit.loc[0.0, "metric"] == pytest.approx(79.44) and vit.loc[0.5, "task_error"] == pytest.approx(14.78)
    gpt2 = acc[(acc.model == "gpt2") & (acc.task == "wikitext103")].set_index("fraction")
    assert gpt2.loc[0.2, "task_error"] == pytest.approx(29.361, abs=1e-3)
    w = paper_fraction_widths(root).set_index(["model", "fraction"]).W_per_spin
    # PAPER.md: trained W/N 6.96 (gpt2), 2.74 (bert-base), 3.02 (opt-125m: its trained DOS file stands in for f = 0)
    assert w[("gpt2", 0.0)] == pytest.approx(6.96, abs=0.01)
    assert w[("bert-base", 0.0)] == pytest.approx(2.73, abs=0.015)
    assert w[("opt-125m", 0.0)] == pytest.approx(3.02, abs=0.01)
    assert paper_accuracy(None).empty and paper_fraction_widths(None).empty
