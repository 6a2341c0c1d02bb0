"""Detection logic for distillguard: features, models, campaign linkage and alert policy.

Pure code: no I/O, no clock. Every function that needs a time takes it as an argument
(event time, Unix seconds), which is what makes ``replay`` deterministic.
"""
