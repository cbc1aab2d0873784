"""Skeleton datasets: sequences, windows, video-level splits, readers and augmentation.

Readers: ``kinetics_skeleton`` (ST-GCN JSON), ``ntu`` (.skeleton), ``ui_prmd``
(Kinect positions + angles, registers the "uiprmd22" layout),
``exercise_clips`` (our cached ``.npz`` skeletons, labels from file names).
"""
