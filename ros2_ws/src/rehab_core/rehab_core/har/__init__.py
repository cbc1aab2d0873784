"""HARNets-style action classifiers: skeleton/IMU LSTM, RGB CNN+LSTM, BVH reader.

``skeleton_lstm``, ``cnn_lstm`` (models), ``bvh`` (motion-capture files),
``training`` (train/evaluate/bundles, toy data), ``streaming`` (the LSTM in
the ST-GCN ``StreamingClassifier``). Import the modules explicitly.
"""
