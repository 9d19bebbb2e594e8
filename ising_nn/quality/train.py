"""Train the two small models of the quality experiments, deterministically, with a ladder of checkpoints.

- ``vit-digits``: a ViT (``ViTConfig``) classifying scikit-learn's 8x8 digits (patches of 2x2 pixels);
- ``gpt2-text``: a character-level GPT-2 (``GPT2Config``) language model on ``pydoc_data.topics``.

Checkpoints are saved at geometrically spaced steps from 0 (the initialisation) to the last step, so they
form a ladder of quality. Each run is cached as ``save_pretrained`` folders (safetensors) under
``paths.MODELS_DIR/<name>/step-<k>/`` with a ``ladder.json`` written last; a second call with the same
configuration loads it instead of training. Determinism: one seed for the initialisation and the batch
order, ``torch.use_deterministic_algorithms``, and a fixed thread count (a different thread count may sum in
a different order, so it is part of the configuration). Byte for byte on one machine and torch build (a Dask
worker and a plain process train the same checkpoints); another CPU's kernels may round differently and train a
slightly different model, which is why the quality tables, not ``models/``, are the cached result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ising_nn._version import __version__
from ising_nn.errors import IsingNNError
from ising_nn.paper import paths

__all__ = ["TrainConfig", "Ladder", "LazyLadder", "train", "load_checkpoint", "default_config", "TASKS",
           "torch_threads"]

TASKS = ("vit-digits", "gpt2-text")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained ladder (its hash names the cache folder).

    Attributes
    ----------
    task : {"vit-digits", "gpt2-text"}
    width, blocks, heads : int
        Hidden size h, transformer blocks L, attention heads; the MLP is 4h wide.
    steps, batch_size : int
        Optimiser steps and examples (images, or windows of ``context`` characters) per step.
    lr, weight_decay, warmup : float
        AdamW with linear warm-up over a fraction ``warmup`` of the steps, then cosine decay.
    context : int
        Characters per training window (``gpt2-text``).
    patch : int
        Patch size in pixels (``vit-digits``; the images are 8x8).
    checkpoints : int
        Checkpoints saved, from step 0 to ``steps``, geometrically spaced.
    seed, data_seed : int
        Seed of initialisation and batches; seed of the train/held-out split.
    threads : int
        torch threads during training. One: these models are too small to gain from more, and on a shared
        machine a second spinning OpenMP thread made training 12 times slower (measured).
    """

    task: str
    width: int = 64
    blocks: int = 4
    heads: int = 4
    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    context: int = 64
    patch: int = 2
    checkpoints: int = 10
    seed: int = 0
    data_seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise IsingNNError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        for k in ("width", "blocks", "heads", "steps", "batch_size", "context", "patch", "threads"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise IsingNNError(f"{k} must be a positive integer, got {v!r}")
        if self.width % self.heads:
            raise IsingNNError(f"width {self.width} must be divisible by heads {self.heads}")
        if 8 % self.patch:
            raise IsingNNError(f"patch must divide the 8x8 digit images (1, 2, 4 or 8), got {self.patch}")
        if not 2 <= self.checkpoints <= self.steps + 1:
            raise IsingNNError(
                f"checkpoints must be from 2 to steps + 1 = {self.steps + 1}, got {self.checkpoints}")

    def as_header(self) -> dict[str, str]:
        return {f"train_{k}": str(v) for k, v in dataclasses.asdict(self).items()}

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:10]

    @property
    def name(self) -> str:
        """Cache folder name: task, size, steps, seed and a hash of the whole configuration."""
        return f"{self.task}-h{self.width}-L{self.blocks}-n{self.steps}-seed{self.seed}-{self.digest}"

    def checkpoint_steps(self) -> tuple[int, ...]:
        """Step 0 and ``checkpoints - 1`` steps geometrically spaced from ``steps / 200`` to ``steps``."""
        k = self.checkpoints - 1
        steps = [0]
        for s in np.geomspace(max(1.0, self.steps / 200), self.steps, k):
            # bump collisions upward so there are exactly `checkpoints` distinct steps
            steps.append(max(int(round(s)), steps[-1] + 1))
        over = steps[-1] - self.steps
        if over > 0:  # only possible when steps is small: fall back to the last k steps
            steps = [0, *range(self.steps - k + 1, self.steps + 1)]
        steps[-1] = self.steps
        return tuple(steps)


def default_config(task: str, smoke: bool = False, seed: int = 0) -> TrainConfig:
    """The configurations the notebooks use; ``smoke`` gives seconds-long runs for tests."""
    if smoke:
        return TrainConfig(task, width=16, blocks=2, heads=2, steps=30, batch_size=16, checkpoints=6,
                           seed=seed, lr=3e-3)
    if task == "vit-digits":
        return TrainConfig(task, width=64, blocks=4, heads=4, steps=1500, batch_size=64, seed=seed)
    return TrainConfig(task, width=64, blocks=4, heads=4, steps=1500, batch_size=32, context=64, seed=seed)


@dataclass(frozen=True)
class Ladder:
    """A trained ladder: ``folder/step-<k>/`` for every ``k`` in ``steps``.

    Attributes
    ----------
    config : TrainConfig
    folder : Path
    steps : tuple of int
    seconds : float
        Training wall time (without evaluation), measured when it was trained.
    threads : int
    """

    config: TrainConfig
    folder: Path
    steps: tuple[int, ...]
    seconds: float

    def path(self, step: int) -> Path:
        return self.folder / f"step-{int(step):06d}"

    def load(self, step: int | None = None):
        """The model at ``step`` (default: the last) in eval mode."""
        return load_checkpoint(self.path(self.steps[-1] if step is None else step))


class LazyLadder:
    """A ladder trained only when a checkpoint is first needed.

    The result tables are cached by the training configuration, so a fresh clone with ``dos/quality``
    committed but no ``models/`` replots without training; anything that loads a checkpoint trains (or reads
    the cached ladder) first.
    """

    def __init__(self, config: TrainConfig, models_dir: str | Path | None = None, progress: bool = True):
        self.config = config
        self.models_dir = models_dir
        self.progress = progress
        self._ladder: Ladder | None = None

    @property
    def steps(self) -> tuple[int, ...]:
        return self.config.checkpoint_steps()

    def ladder(self) -> Ladder:
        """The trained ladder (trains now if the cache lacks it)."""
        if self._ladder is None:
            self._ladder = train(self.config, self.models_dir, progress=self.progress)
        return self._ladder

    @property
    def seconds(self) -> float:
        return self.ladder().seconds

    def load(self, step: int | None = None):
        return self.ladder().load(step)


def load_checkpoint(path: str | Path):
    """Load a checkpoint folder written by :func:`train` (or any ViT / GPT-2 ``save_pretrained`` folder)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageClassification

    path = Path(path)
    if not (path / "config.json").is_file():
        raise IsingNNError(f"{str(path)!r} is not a saved model folder (no config.json)")
    with quiet_transformers():
        cfg = AutoConfig.from_pretrained(path)
        auto = AutoModelForImageClassification if cfg.model_type == "vit" else AutoModelForCausalLM
        return auto.from_pretrained(path).eval()


@contextlib.contextmanager
def quiet_transformers():
    """No progress bars or info logs from transformers while saving and loading our small checkpoints."""
    from transformers.utils import logging as tlog

    bar, level = tlog.is_progress_bar_enabled(), tlog.get_verbosity()
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()
    try:
        yield
    finally:
        tlog.set_verbosity(level)
        if bar:
            tlog.enable_progress_bar()


@contextlib.contextmanager
def torch_threads(threads: int):
    """A fixed torch thread count inside the block; restored afterwards."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def torch_determinism(threads: int):
    """Deterministic algorithms and a fixed thread count inside the block; restored afterwards."""
    import torch

    old_det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch_threads(threads):
            yield
    finally:
        torch.use_deterministic_algorithms(old_det)


def _build(cfg: TrainConfig, vocab_size: int):
    from transformers import GPT2Config, GPT2LMHeadModel, ViTConfig, ViTForImageClassification

    if cfg.task == "vit-digits":
        mc = ViTConfig(image_size=8, patch_size=cfg.patch, num_channels=1, hidden_size=cfg.width,
                       num_hidden_layers=cfg.blocks, num_attention_heads=cfg.heads,
                       intermediate_size=4 * cfg.width, num_labels=10,
                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        return ViTForImageClassification(mc)
    mc = GPT2Config(vocab_size=vocab_size, n_positions=cfg.context, n_embd=cfg.width, n_layer=cfg.blocks,
                    n_head=cfg.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                    bos_token_id=None, eos_token_id=None)
    return GPT2LMHeadModel(mc)


def train(cfg: TrainConfig, models_dir: str | Path | None = None, *, retrain: bool = False,
          progress: bool = True) -> Ladder:
    """Train (or load from the cache) the ladder of checkpoints of ``cfg``.

    Parameters
    ----------
    cfg : TrainConfig
    models_dir : path, optional
        Cache root (default ``paths.MODELS_DIR``); created if missing.
    retrain : bool
        Train even if the cache holds this configuration.
    progress : bool
        tqdm progress bar.
    """
    root = Path(models_dir) if models_dir is not None else paths.MODELS_DIR
    folder = root / cfg.name
    meta_file = folder / "ladder.json"
    if meta_file.is_file() and not retrain:
        meta = json.loads(meta_file.read_text())
        if meta.get("config") == dataclasses.asdict(cfg):
            return Ladder(cfg, folder, tuple(meta["steps"]), float(meta["seconds"]))
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cfg.name}.", dir=root))
    try:
        with torch_determinism(cfg.threads), quiet_transformers():
            seconds = _train_into(cfg, tmp, progress)
        steps = cfg.checkpoint_steps()
        meta = {"config": dataclasses.asdict(cfg), "steps": list(steps), "seconds": seconds,
                "version": __version__}
        (tmp / "ladder.json").write_text(json.dumps(meta, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Ladder(cfg, folder, steps, seconds)


def _train_into(cfg: TrainConfig, out: Path, progress: bool) -> float:
    import torch
    from tqdm.auto import tqdm

    from ising_nn.quality.data import char_tokenizer, digits_split, text_split

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    tok = None
    if cfg.task == "vit-digits":
        d = digits_split(cfg.data_seed)
        x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
        model = _build(cfg, 0)
    else:
        text = text_split(cfg.data_seed).train
        tok = char_tokenizer(text)
        ids = torch.tensor(tok(text)["input_ids"], dtype=torch.long)
        model = _build(cfg, len(tok))
    save_at = set(cfg.checkpoint_steps())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    n_warm = max(1, int(cfg.warmup * cfg.steps))

    def lr_factor(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        return 0.5 * (1 + math.cos(math.pi * (step - n_warm) / max(1, cfg.steps - n_warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)

    def save(step: int) -> None:
        model.save_pretrained(out / f"step-{step:06d}")
        if tok is not None:
            tok.save_pretrained(out / f"step-{step:06d}")

    t0 = time.perf_counter()
    save_seconds = 0.0
    model.train()
    bar = tqdm(range(cfg.steps + 1), desc=cfg.name, disable=not progress, leave=False)
    for step in bar:
        if step in save_at:
            ts = time.perf_counter()
            save(step)
            save_seconds += time.perf_counter() - ts
        if step == cfg.steps:
            break
        if cfg.task == "vit-digits":
            idx = torch.randint(0, len(y), (cfg.batch_size,), generator=gen)
            loss = model(pixel_values=x[idx], labels=y[idx]).loss
        else:
            start = torch.randint(0, len(ids) - cfg.context, (cfg.batch_size,), generator=gen)
            batch = ids[start[:, None] + torch.arange(cfg.context)]
            loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if progress and step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return time.perf_counter() - t0 - save_seconds
