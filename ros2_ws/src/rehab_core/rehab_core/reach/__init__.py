"""Infant reach detection (BabyNet, Dechemi et al. 2021) from detector boxes.

``features`` (hand-object distance/IoU per side) -> ``babynet`` (2-frame LSTM,
4 classes RN/RF/R/NoR) -> ``keyframes`` (onset/offset state machine,
``ReachDetector``). ``synthetic`` generates labelled training sequences,
``training``/``metrics`` train and score. Modules are imported explicitly
(``from rehab_core.reach.keyframes import ReachDetector``) so importing this
package does not pull in torch.
"""
