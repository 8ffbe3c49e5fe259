"""The search pipeline: one run from a board and a dataset to a verified int8 model.

`run_search(SearchConfig(...))` explores the space with a strategy of `tinynas.search` (the
estimators reject what does not fit, a trainingless metric scores the rest), keeps the Pareto
front, shortlists, trains the shortlist by successive halving, trains the winner fully
(optionally distilled from a teacher), converts and verifies it in TFLite Micro, and writes the
report. Every stage commits to the run store (`tinynas.store`), so a killed run resumes.
"""

from __future__ import annotations

from tinynas.pipeline._boards import (
    BOARD_STRATEGIES,
    DEFAULT_BOARD_CANDIDATES,
    BoardResult,
    BoardsConfig,
    BoardsSummary,
    board_strategy,
    run_boards,
)
from tinynas.pipeline._config import RESUME_FIXED, SearchConfig
from tinynas.pipeline._explore import ExploreLimits, explore, replay, resize_batch
from tinynas.pipeline._finish import Finished, finish, teacher_targets
from tinynas.pipeline._halving import successive_halving, train_stage
from tinynas.pipeline._metric import DEFAULT_METRIC, make_metric, resolve_metric
from tinynas.pipeline._report import ParetoInfo, draw_pareto, pareto_info, write_report
from tinynas.pipeline._run import METRIC_BATCH, Progress, run_search
from tinynas.pipeline._score import ScoredArchitecture, ScoreTable, score_file
from tinynas.pipeline._summary import SearchSummary, TeacherSummary, budget_text

__all__ = [
    "BOARD_STRATEGIES",
    "DEFAULT_BOARD_CANDIDATES",
    "DEFAULT_METRIC",
    "METRIC_BATCH",
    "RESUME_FIXED",
    "BoardResult",
    "BoardsConfig",
    "BoardsSummary",
    "ExploreLimits",
    "Finished",
    "ParetoInfo",
    "Progress",
    "SearchConfig",
    "ScoreTable",
    "ScoredArchitecture",
    "SearchSummary",
    "TeacherSummary",
    "board_strategy",
    "budget_text",
    "draw_pareto",
    "explore",
    "finish",
    "make_metric",
    "pareto_info",
    "replay",
    "resize_batch",
    "resolve_metric",
    "run_boards",
    "run_search",
    "score_file",
    "successive_halving",
    "teacher_targets",
    "train_stage",
    "write_report",
]
