"""Search a scenario's parameters for where a detector fails (``scenegen search``).

* :mod:`~scenegen.search.space`: the searched keys and the unit cube the methods move in;
* :mod:`~scenegen.search.margin`: the continuous margin of a frame and its failure flag;
* :mod:`~scenegen.search.methods`: CMA-ES, TPE (optuna), Sobol'/Halton and random search
  behind one ask/tell interface;
* :mod:`~scenegen.search.loop`: the loop that drives a method with any objective;
* :mod:`~scenegen.search.evaluate`: a point and a seed rendered and scored;
* :mod:`~scenegen.search.boundary` and :mod:`~scenegen.search.region`: bisected boundaries
  and the failure-region scenario;
* :mod:`~scenegen.search.table`: the error table;
* :mod:`~scenegen.search.run`: :func:`run_search`, all of it with its output folder.
"""

from scenegen.search.margin import FrameScore, MarginSettings, score_frame
from scenegen.search.methods import METHODS, make_method
from scenegen.search.run import SearchResult, SearchSettings, run_search
from scenegen.search.space import Dimension, SearchSpace, search_space

__all__ = [
    "METHODS",
    "Dimension",
    "FrameScore",
    "MarginSettings",
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "make_method",
    "run_search",
    "score_frame",
    "search_space",
]
