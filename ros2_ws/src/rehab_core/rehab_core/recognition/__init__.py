"""Skeleton-based exercise recognition: ST-GCN graph and model, checkpoints, streaming.

Modules: ``graph`` (partitioned adjacency), ``stgcn`` (the network),
``checkpoint`` (published/own weights), ``preprocess`` (frame-rate matching,
normalisation), ``model_bundle`` (model folders, ONNX export), ``streaming``
(``StreamingClassifier``), ``benchmark`` (latency). torch is only imported by
the model modules; ``streaming`` with an ONNX bundle needs only onnxruntime.
"""
