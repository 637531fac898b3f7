"""Privacy: membership inference against models trained with SGD or DP-SGD, and DP audits.

The modules: the datasets (:mod:`~games.privacy.data`), the networks and their batched
trainers (:mod:`~games.privacy.networks`, :mod:`~games.privacy.training`), ε from an
accountant (:mod:`~games.privacy.accounting`), the ``membership`` game and its utility side
``held-out-error`` (:mod:`~games.privacy.membership`) and the audits of a DP claim
(:mod:`~games.privacy.audit`, with one training run :mod:`~games.privacy.one_run`). The
names below are imported on first use, so that importing the package (or its data sets and
accountant, which other domains and the command line read) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ACCOUNTANTS",
    "DATASETS",
    "DELTA",
    "DPSGD",
    "FIGURES",
    "MODELS",
    "NETWORKS",
    "SGD",
    "TRAINERS",
    "Audit",
    "AuditReport",
    "Claims",
    "DPSGDNoClip",
    "Dataset",
    "HeldOutError",
    "Membership",
    "ModelAccess",
    "Network",
    "OneRunAudit",
    "Opacus",
    "Params",
    "Scorer",
    "ScoringAdversary",
    "Thresholded",
    "Trained",
    "Trainer",
    "data_seed_param",
    "dataset_param",
    "depth_param",
    "device_param",
    "dp_advantage_bound",
    "epsilon_lower_bound",
    "load",
    "make_trainer",
    "membership_scores",
    "mislabel",
    "model_param",
    "network",
    "one_run_audit",
    "one_run_epsilon",
    "one_run_p_value",
    "population",
    "run_audit",
    "tpr_at_fpr",
    "width_param",
]

_MODULES = {
    "accounting": ("ACCOUNTANTS", "DELTA", "dp_advantage_bound"),
    "data": ("DATASETS", "Dataset", "data_seed_param", "dataset_param", "load", "population"),
    "networks": (
        "MODELS",
        "NETWORKS",
        "Network",
        "Params",
        "depth_param",
        "model_param",
        "network",
        "width_param",
    ),
    "training": (
        "DPSGD",
        "SGD",
        "TRAINERS",
        "DPSGDNoClip",
        "Opacus",
        "Trained",
        "Trainer",
        "device_param",
        "make_trainer",
    ),
    "membership": ("HeldOutError", "Membership", "ModelAccess", "mislabel"),
    "audit": (
        "FIGURES",
        "Audit",
        "AuditReport",
        "Claims",
        "Scorer",
        "ScoringAdversary",
        "Thresholded",
        "epsilon_lower_bound",
        "membership_scores",
        "run_audit",
        "tpr_at_fpr",
    ),
    "one_run": ("OneRunAudit", "one_run_audit", "one_run_epsilon", "one_run_p_value"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'games.privacy' has no attribute {name!r}")
    return getattr(importlib.import_module(f"games.privacy.{_HOME[name]}"), name)
