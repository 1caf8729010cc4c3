"""Serving: predictions for any record, explanations at both resolutions, batch predictions.

- :class:`Predictor` (:meth:`Predictor.load`, :meth:`Predictor.for_task`, :func:`weights_for_task`): a weights file
  and its card loaded once; :meth:`Predictor.predict` gives a :class:`Prediction` of :class:`ClassPrediction`.
- :func:`attention_maps`, :func:`attribute`, :func:`explain`: where each branch attended, and what drove a class.
- :func:`deletion_test`: faithfulness of the explanations.
- :func:`predict_paths`: files and folders, a broken file reported and skipped (``python -m mrm predict``).
"""

from mrm.infer.batch import outcomes_to_json, predict_paths, read_inputs, write_csv
from mrm.infer.explain import (
    ATTENTION_METHODS,
    ATTRIBUTION_METHODS,
    AttentionMaps,
    Attribution,
    Explanation,
    attention_maps,
    attribute,
    explain,
)
from mrm.infer.faithfulness import DeletionResult, deletion_test
from mrm.infer.predictor import (
    DISAGREEMENT_FLAG,
    ClassPrediction,
    ModelInput,
    Prediction,
    Predictor,
    minimal_card,
    weights_for_task,
)

__all__ = [
    "ATTENTION_METHODS",
    "ATTRIBUTION_METHODS",
    "DISAGREEMENT_FLAG",
    "AttentionMaps",
    "Attribution",
    "ClassPrediction",
    "DeletionResult",
    "Explanation",
    "ModelInput",
    "Prediction",
    "Predictor",
    "attention_maps",
    "attribute",
    "deletion_test",
    "explain",
    "minimal_card",
    "outcomes_to_json",
    "predict_paths",
    "read_inputs",
    "weights_for_task",
    "write_csv",
]
