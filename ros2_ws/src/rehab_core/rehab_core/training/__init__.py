"""Training utilities shared by the model families.

``trainer`` (loop, transfer learning, progress bar), ``evaluation``
(confusion matrix, summary.json, per-sample scores), ``stgcn_pipeline``
(ST-GCN train / leave-one-video-out / evaluate / bundle, the exercise preset).
"""
