"""Does the Ising energy predict task quality? Small models trained here, shuffled and along training.

- :mod:`.data`: digits (scikit-learn) and Python's documentation topics, split with a seed;
- :mod:`.train`: a ViT on digits and a character GPT-2 on the text, deterministic, with a checkpoint ladder;
- :mod:`.metrics`: top-1, perplexity and the paper's task error;
- :mod:`.weights`: the coupling-forming weights of a model and the network-wide shuffle written back;
- :mod:`.ising`: E_0, W = 2|E_0| (and a Wang-Landau width) of a set of couplings;
- :mod:`.shuffle_eval`, :mod:`.ladder_eval`: the two experiments, cached as tables in ``dos/quality``;
- :mod:`.peer`: WeightWatcher's alpha; :mod:`.correlate`: Spearman correlations with bootstrap intervals;
- :mod:`.hub`: hub models by name with perplexity on wikitext; :mod:`.report`: everything in one call.
"""

from ising_nn.quality.correlate import Correlation, correlation_table, spearman_ci, summary_paragraph, table_markdown
from ising_nn.quality.data import char_tokenizer, digits_split, text_split
from ising_nn.quality.ising import IsingPoint, QuenchSettings, ising_point
from ising_nn.quality.ladder_eval import cached_ladder_experiment, ladder_experiment
from ising_nn.quality.metrics import Metric, evaluate, perplexity, quality, task_error, top1
from ising_nn.quality.report import QualityResults, run_quality, summary_from_file
from ising_nn.quality.shuffle_eval import FRACTIONS, cached_shuffle_experiment, shuffle_experiment
from ising_nn.quality.tables import cached_table, read_table, write_table
from ising_nn.quality.train import Ladder, LazyLadder, TrainConfig, default_config, load_checkpoint, train
from ising_nn.quality.weights import coupling_tensors, set_weight_pool, shuffle_model, weight_pool

__all__ = [
    "Correlation", "correlation_table", "spearman_ci", "summary_paragraph", "table_markdown",
    "char_tokenizer", "digits_split", "text_split",
    "IsingPoint", "QuenchSettings", "ising_point",
    "cached_ladder_experiment", "ladder_experiment",
    "Metric", "evaluate", "perplexity", "quality", "task_error", "top1",
    "QualityResults", "run_quality", "summary_from_file",
    "FRACTIONS", "cached_shuffle_experiment", "shuffle_experiment",
    "cached_table", "read_table", "write_table",
    "Ladder", "LazyLadder", "TrainConfig", "default_config", "load_checkpoint", "train",
    "coupling_tensors", "set_weight_pool", "shuffle_model", "weight_pool",
]
